import { type Bytes, Reader, Writer, fromBase64url, toBase64url } from "./bytes.ts";
import { CryptoError } from "./errors.ts";
import type { Primitives } from "./primitives.ts";

export const PROFILE_VERSION = 1;
/** A profile key is 32 random bytes (AES-256). */
export const PROFILE_KEY_LENGTH = 32;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;

/** A fresh random profile key. */
export function generateProfileKey(p: Primitives): Bytes {
  return p.randomBytes(PROFILE_KEY_LENGTH);
}

/**
 * Encrypts a profile (any bytes) under a profile key with AES-256-GCM and a random 96-bit
 * nonce, as one base64url string: `u8 version | nonce[12] | ciphertext || tag`, the version
 * byte as AAD. The server stores it and cannot read it; contacts open it with the key.
 */
export async function sealProfile(p: Primitives, key: Bytes, plaintext: Bytes): Promise<string> {
  if (!(key instanceof Uint8Array) || key.length !== PROFILE_KEY_LENGTH) throw new CryptoError("MALFORMED", "wrong key length");
  const head = new Writer().u8(PROFILE_VERSION).finish();
  const nonce = p.randomBytes(NONCE_LENGTH);
  const ct = await p.aesGcmEncrypt(key, nonce, plaintext, head);
  return toBase64url(new Writer().bytes(head).bytes(nonce).bytes(ct).finish());
}

/** Opens a `sealProfile` blob. DECRYPT_FAILED (wrong key or altered blob), MALFORMED, UNSUPPORTED_VERSION. */
export async function openProfile(p: Primitives, key: Bytes, blob: string): Promise<Bytes> {
  if (!(key instanceof Uint8Array) || key.length !== PROFILE_KEY_LENGTH) throw new CryptoError("MALFORMED", "wrong key length");
  const bytes = fromBase64url(blob);
  const r = new Reader(bytes);
  if (r.u8() !== PROFILE_VERSION) throw new CryptoError("UNSUPPORTED_VERSION", "unsupported profile version");
  const head = bytes.subarray(0, r.offset);
  const nonce = r.bytes(NONCE_LENGTH);
  const ct = r.rest();
  if (ct.length < TAG_LENGTH) throw new CryptoError("MALFORMED", "truncated profile");
  return p.aesGcmDecrypt(key, nonce, ct, head);
}
