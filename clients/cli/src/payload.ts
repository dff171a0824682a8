import { z } from "zod";
import { parse } from "@natter/protocol";

/** What travels inside the encryption: the message as the sender wrote it. */
export const Payload = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text"), text: z.string().max(200_000), sentAt: z.number().int().nonnegative() }),
]);
export type Payload = z.infer<typeof Payload>;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export function encodePayload(payload: Payload): Uint8Array {
  return encoder.encode(JSON.stringify(payload));
}

/** Parses a decrypted payload; undefined when it is not one this version understands. */
export function decodePayload(bytes: Uint8Array): Payload | undefined {
  try {
    return parse(Payload, JSON.parse(decoder.decode(bytes)));
  } catch {
    return undefined;
  }
}
