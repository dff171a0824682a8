import { z } from "zod";
import { Name } from "./names.ts";

/**
 * The end-to-end payload: what one client writes inside the encryption for another, 1:1 or
 * in a group. It is the contract between two clients only. No server ever sees it: it
 * travels sealed inside a Double Ratchet or sender-key message, and only the receiving
 * client decodes it.
 */

/**
 * The payload version this code writes. Version 2 seals the message id inside; a payload
 * of another version is reported as one this client cannot show (one side must upgrade).
 */
export const PAYLOAD_VERSION = 2;

const Version = z.literal(PAYLOAD_VERSION);
const Base64url = z.string().max(1024).regex(/^[A-Za-z0-9_-]*$/);
const SentAt = z.number().int().nonnegative();
/**
 * The message id the sender gave it, sealed inside the encryption: the server picks the id
 * a delivery carries, so a ciphertext it delivers again under a fresh id is still known.
 */
const MessageId = z.uuid();

/** A 32-byte profile key, base64url. */
export const ProfileKey = z.string().regex(/^[A-Za-z0-9_-]{43}$/);

/** What a receiver needs to fetch and open a file: all of it travels inside the encryption. */
export const FileRef = z.object({
  /** The object's id on the server. */
  id: z.uuid(),
  /** The file's own AES-256 key and the SHA-256 chain digest of its ciphertext (base64url). */
  key: Base64url,
  digest: Base64url,
  /** Plaintext bytes. */
  size: z.number().int().nonnegative(),
  mime: z.string().max(255),
  /** The name the sender chose; the receiver never uses it as a path as it is. */
  name: z.string().max(1024),
});
export type FileRef = z.infer<typeof FileRef>;

/**
 * In a group message: the seq and hash of the last membership change the sender had
 * verified, so a member shown another history by the server notices.
 */
const GroupChainHead = z.object({ seq: z.number().int().nonnegative(), hash: z.string().regex(/^[A-Za-z0-9_-]{43}$/) });

/** A text message. Every 1:1 payload also carries the sender's `profileKey`, so contacts can read their profile. */
export const TextPayload = z.object({
  v: Version, id: MessageId, type: z.literal("text"), text: z.string().max(200_000), sentAt: SentAt, profileKey: ProfileKey.optional(), chain: GroupChainHead.optional(),
});
export type TextPayload = z.infer<typeof TextPayload>;

/** A file message: the file itself is uploaded encrypted under the key in `file`. */
export const FilePayload = z.object({
  v: Version, id: MessageId, type: z.literal("file"), file: FileRef, sentAt: SentAt, profileKey: ProfileKey.optional(), chain: GroupChainHead.optional(),
});
export type FilePayload = z.infer<typeof FilePayload>;

/** My sender key for a group, sent over the 1:1 session (never shown). */
export const SenderKeyPayload = z.object({
  v: Version,
  id: MessageId,
  type: z.literal("sender-key"),
  group: z.object({ id: z.uuid(), name: Name }),
  distribution: Base64url,
  profileKey: ProfileKey.optional(),
});
export type SenderKeyPayload = z.infer<typeof SenderKeyPayload>;

/**
 * A receipt for messages the sender of this one received: `delivered` once its client has
 * stored them, `read` once it has shown them. Sent over the 1:1 session to whoever sent
 * the messages (in a group too), never shown as a message and never itself receipted.
 */
export const ReceiptPayload = z.object({
  v: Version,
  id: MessageId,
  type: z.literal("receipt"),
  receipt: z.enum(["delivered", "read"]),
  /** The sealed ids of the messages it is for. */
  of: z.array(MessageId).min(1).max(100),
  sentAt: SentAt,
  profileKey: ProfileKey.optional(),
});
export type ReceiptPayload = z.infer<typeof ReceiptPayload>;

/** Any payload, told apart by `type`. */
export const Payload = z.discriminatedUnion("type", [TextPayload, FilePayload, SenderKeyPayload, ReceiptPayload]);
export type Payload = z.infer<typeof Payload>;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The bytes to encrypt for a payload (UTF-8 JSON). */
export function encodePayload(payload: Payload): Uint8Array {
  return encoder.encode(JSON.stringify(payload));
}

/**
 * Parses a decrypted payload. Undefined when it is not one this version understands: not
 * UTF-8 JSON, not a payload, or a `v` other than PAYLOAD_VERSION (the receiver reports
 * it as unsupported and moves on).
 */
export function decodePayload(bytes: Uint8Array): Payload | undefined {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    return undefined;
  }
  const result = Payload.safeParse(value);
  return result.success ? result.data : undefined;
}
