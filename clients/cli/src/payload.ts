import { z } from "zod";
import { Name, parse } from "@natter/protocol";

const Base64url = z.string().max(1024).regex(/^[A-Za-z0-9_-]*$/);
const SentAt = z.number().int().nonnegative();
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
 * What travels inside the encryption: the message as the sender wrote it, 1:1 or in a group.
 * Every 1:1 payload also carries the sender's `profileKey`, so contacts can read their profile.
 */
export const Payload = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text"), text: z.string().max(200_000), sentAt: SentAt, profileKey: ProfileKey.optional() }),
  z.object({ type: z.literal("file"), file: FileRef, sentAt: SentAt, profileKey: ProfileKey.optional() }),
  /** My sender key for a group, sent over the 1:1 session (never shown). */
  z.object({ type: z.literal("sender-key"), group: z.object({ id: z.uuid(), name: Name }), distribution: Base64url, profileKey: ProfileKey.optional() }),
]);
export type Payload = z.infer<typeof Payload>;
/** What a person sees: text or a file. */
export type Content = Omit<Extract<Payload, { type: "text" }>, "profileKey"> | Omit<Extract<Payload, { type: "file" }>, "profileKey">;

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
