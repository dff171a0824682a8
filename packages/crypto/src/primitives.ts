import type { Bytes } from "./bytes.ts";
import { createNativePrimitives } from "./native-primitives.ts";

/** A key pair held as raw bytes: a 32-byte public key and a 32-byte private seed/scalar. */
export interface KeyPair {
  readonly publicKey: Bytes;
  readonly privateKey: Bytes;
}

/**
 * Every primitive the package uses. Keys go in and out as raw bytes; a provider keeps what it
 * derives from a key (an imported key, a key object) per key byte array, in a `WeakMap`, so
 * long-lived keys (identity, ratchet, signing and attachment keys) are prepared once.
 * Failures: `CryptoError` DECRYPT_FAILED or MALFORMED, with no detail; `ed25519Verify` never throws.
 */
export interface Primitives {
  randomBytes(n: number): Bytes;
  /** SHA-256 of the parts, joined; it has read them by the time it returns, so they may be reused. */
  sha256(...parts: Bytes[]): Promise<Bytes>;
  sha512(data: Bytes): Promise<Bytes>;
  hmacSha256(key: Bytes, data: Bytes): Promise<Bytes>;
  /** HMAC-SHA256 of several messages under one key: a chain-key step. */
  hmacSha256Many(key: Bytes, data: readonly Bytes[]): Promise<Bytes[]>;
  hkdfSha256(ikm: Bytes, salt: Bytes, info: Bytes, length: number): Promise<Bytes>;
  pbkdf2Sha256(password: Bytes, salt: Bytes, iterations: number, length: number): Promise<Bytes>;
  /** AES-256-GCM with a 32-byte key, a 96-bit nonce and a 128-bit tag appended to the ciphertext. */
  aesGcmEncrypt(key: Bytes, iv: Bytes, plaintext: Bytes, aad?: Bytes): Promise<Bytes>;
  /** Throws CryptoError DECRYPT_FAILED on any failure. */
  aesGcmDecrypt(key: Bytes, iv: Bytes, ciphertext: Bytes, aad?: Bytes): Promise<Bytes>;
  x25519Generate(): Promise<KeyPair>;
  x25519PublicKey(privateKey: Bytes): Promise<Bytes>;
  /** X25519(privateKey, publicKey); throws CryptoError DECRYPT_FAILED when the provider refuses (e.g. low-order points). */
  x25519(privateKey: Bytes, publicKey: Bytes): Promise<Bytes>;
  ed25519Generate(): Promise<KeyPair>;
  ed25519PublicKey(seed: Bytes): Promise<Bytes>;
  ed25519Sign(seed: Bytes, message: Bytes): Promise<Bytes>;
  /** False for any bad signature, key or length; never throws. */
  ed25519Verify(publicKey: Bytes, message: Bytes, signature: Bytes): Promise<boolean>;
}

/**
 * The default provider: Node's synchronous one-shot `node:crypto` calls
 * (`createNativePrimitives`). `createWebCryptoPrimitives` is the portable alternative.
 */
export function createPrimitives(): Primitives {
  return createNativePrimitives();
}
