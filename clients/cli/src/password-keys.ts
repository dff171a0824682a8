import { hashRaw } from "@node-rs/argon2";
import { fromBase64url, toBase64url, type Primitives } from "@natter/crypto";

/**
 * Argon2id as the client stretches the password: m = 64 MiB, t = 3, p = 1 (above OWASP's
 * minimum of m = 19 MiB, t = 2, p = 1; RFC 9106's second recommendation with one lane).
 * About 120 ms on a current laptop core; changing them changes every derived key, so they
 * are part of the protocol.
 */
export const ARGON2_PARAMS = { memoryCost: 64 * 1024, timeCost: 3, parallelism: 1 } as const;

/** `Algorithm.Argon2id`, which the package declares as a const enum that cannot be imported here. */
const ARGON2ID = 2;
const SALT_BYTES = 16;
const LOGIN_INFO = new TextEncoder().encode("natter login secret v1");
const BACKUP_INFO = new TextEncoder().encode("natter backup key v1");

/** The two independent keys the password gives. */
export interface PasswordKeys {
  /** What the server receives instead of the password (32 bytes, base64url); it stores only bcrypt of it. */
  loginSecret: string;
  /** Seals the key backup; never leaves this machine (kept in the home, mode 0600). */
  backupKey: Uint8Array;
}

/** A fresh random salt (16 bytes, base64url), made at register and at every password change. */
export function newPasswordSalt(p: Primitives): string {
  return toBase64url(p.randomBytes(SALT_BYTES));
}

/**
 * Stretches the password (NFC, so the same password typed on another system gives the same
 * keys) under `salt` with Argon2id, then HKDF-SHA256 splits the result into the login
 * secret and the backup key: knowing one says nothing of the other.
 */
export async function derivePasswordKeys(p: Primitives, password: string, salt: string): Promise<PasswordKeys> {
  const saltBytes = fromBase64url(salt);
  const stretched = new Uint8Array(
    await hashRaw(password.normalize("NFC"), { algorithm: ARGON2ID, ...ARGON2_PARAMS, outputLen: 32, salt: Buffer.from(saltBytes) }),
  );
  const empty = new Uint8Array(0);
  const [login, backupKey] = await Promise.all([p.hkdfSha256(stretched, empty, LOGIN_INFO, 32), p.hkdfSha256(stretched, empty, BACKUP_INFO, 32)]);
  stretched.fill(0);
  return { loginSecret: toBase64url(login), backupKey };
}
