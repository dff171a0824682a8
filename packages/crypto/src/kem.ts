// ML-KEM-768 (FIPS 203) for PQXDH, from @noble/post-quantum: the KEM is provider independent,
// so both primitive providers share it. Nothing here is homemade beyond length checks and
// turning the library's exceptions into this package's errors.
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import type { Bytes } from "./bytes.ts";
import { CryptoError } from "./errors.ts";

/** Sizes of ML-KEM-768 values, in bytes. */
export const KEM_PUBLIC_KEY_LENGTH = 1184;
export const KEM_CIPHERTEXT_LENGTH = 1088;
/** The private key as kept: FIPS 203's 64-byte seed (d ‖ z), from which the decapsulation key is derived. */
export const KEM_SEED_LENGTH = 64;
export const KEM_SHARED_SECRET_LENGTH = 32;

/** An ML-KEM-768 key pair kept as its seed, with the encapsulation (public) key it gives. */
export interface KemKeyPair {
  readonly publicKey: Bytes;
  readonly seed: Bytes;
}

/** A new key pair from `seed` (64 random bytes), deterministic: the seed is the private key. */
export function kemKeyPairFromSeed(seed: Bytes): KemKeyPair {
  if (seed.length !== KEM_SEED_LENGTH) throw new CryptoError("MALFORMED", "kem: seed length");
  return { publicKey: ml_kem768.keygen(seed).publicKey, seed };
}

/**
 * Encapsulates to `publicKey`: a ciphertext for its owner and the 32-byte secret it carries.
 * `randomness` (32 bytes) is for known-answer tests only. BAD_BUNDLE for a key that is not a
 * valid ML-KEM-768 encapsulation key (wrong length, coefficients not reduced).
 */
export function kemEncapsulate(publicKey: Bytes, randomness?: Bytes): { ciphertext: Bytes; sharedSecret: Bytes } {
  if (publicKey.length !== KEM_PUBLIC_KEY_LENGTH) throw new CryptoError("BAD_BUNDLE", "kem: public key length");
  try {
    const { cipherText, sharedSecret } = ml_kem768.encapsulate(publicKey, randomness);
    return { ciphertext: cipherText, sharedSecret };
  } catch (cause) {
    throw new CryptoError("BAD_BUNDLE", "kem: public key rejected", { cause });
  }
}

/**
 * Decapsulates `ciphertext` with the key pair made from `seed`. A ciphertext of the right
 * length never fails: one made for another key, or altered, gives an unrelated secret
 * (FIPS 203 implicit rejection), which the first message's authentication then refuses.
 * MALFORMED for a wrong length.
 */
export function kemDecapsulate(seed: Bytes, ciphertext: Bytes): Bytes {
  if (seed.length !== KEM_SEED_LENGTH) throw new CryptoError("MALFORMED", "kem: seed length");
  if (ciphertext.length !== KEM_CIPHERTEXT_LENGTH) throw new CryptoError("MALFORMED", "kem: ciphertext length");
  const { secretKey } = ml_kem768.keygen(seed);
  try {
    return ml_kem768.decapsulate(ciphertext, secretKey);
  } catch (cause) {
    throw new CryptoError("MALFORMED", "kem: decapsulation failed", { cause });
  } finally {
    secretKey.fill(0);
  }
}
