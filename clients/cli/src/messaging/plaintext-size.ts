import { MAX_MESSAGE_BODY } from "@natter/protocol";
import { CliError } from "../errors.ts";

/** Room left in a message body for the ratchet's header and tag. */
const ENVELOPE_OVERHEAD = 1024;

/** MESSAGE_TOO_LARGE unless an encoded payload fits in a message body once encrypted. */
export function checkPlaintextSize(plaintext: Uint8Array): void {
  if (plaintext.byteLength > MAX_MESSAGE_BODY - ENVELOPE_OVERHEAD) throw new CliError("MESSAGE_TOO_LARGE");
}
