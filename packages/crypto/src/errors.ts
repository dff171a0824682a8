/** Every reason a crypto operation can fail, as stable codes the client maps to messages. */
export const CRYPTO_ERROR_CODES = [
  "DECRYPT_FAILED",
  "DUPLICATE_MESSAGE",
  "BAD_SIGNATURE",
  "BAD_BUNDLE",
  "TOO_MANY_SKIPPED",
  "BAD_BACKUP_PASSWORD",
  "MALFORMED",
  "IDENTITY_MISMATCH",
  "UNSUPPORTED_VERSION",
  "UNKNOWN_SENDER_KEY",
  "NO_PREKEY",
  "NO_KEM_PREKEY",
] as const;

export type CryptoErrorCode = (typeof CRYPTO_ERROR_CODES)[number];

/**
 * The one error this package throws. Messages are generic on purpose: a decryption failure
 * never says which check failed, and no message carries key material or plaintext.
 */
export class CryptoError extends Error {
  readonly code: CryptoErrorCode;

  constructor(code: CryptoErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? code, options);
    this.name = "CryptoError";
    this.code = code;
  }
}

export function isCryptoError(e: unknown, code?: CryptoErrorCode): e is CryptoError {
  return e instanceof CryptoError && (code === undefined || e.code === code);
}

/** The one decryption failure, whatever the check that failed: the message says nothing more. */
export function decryptFailed(cause?: unknown): CryptoError {
  return new CryptoError("DECRYPT_FAILED", "decryption failed", cause === undefined ? undefined : { cause });
}

/** Throws MALFORMED (or the given code) when an invariant of untrusted input does not hold. */
export function check(cond: unknown, code: CryptoErrorCode = "MALFORMED", message?: string): asserts cond {
  if (!cond) throw new CryptoError(code, message);
}
