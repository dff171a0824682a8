import { type Bytes, Reader, Writer, fromBase64url, fromUtf8, toBase64url, utf8 } from "./bytes.ts";
import { CryptoError } from "./errors.ts";
import { DeviceIdentity } from "./identity.ts";
import type { Primitives } from "./primitives.ts";

export const BACKUP_VERSION = 1;
/** OWASP's 2023 figure for PBKDF2-HMAC-SHA256; blobs claiming fewer are refused. */
export const MIN_BACKUP_ITERATIONS = 600_000;
/** Upper bound so a hostile blob cannot make us spin for hours. */
export const MAX_BACKUP_ITERATIONS = 10_000_000;
const SALT_LENGTH = 16;

async function backupKey(p: Primitives, password: string, salt: Bytes, iterations: number): Promise<Bytes> {
  if (typeof password !== "string") throw new CryptoError("MALFORMED", "password must be a string");
  return p.pbkdf2Sha256(utf8(password.normalize("NFC")), salt, iterations, 32);
}

function checkIterations(n: number): void {
  if (!Number.isInteger(n) || n < MIN_BACKUP_ITERATIONS || n > MAX_BACKUP_ITERATIONS) {
    throw new CryptoError("MALFORMED", "backup iteration count out of range");
  }
}

/**
 * Encrypts `plaintext` under a key from `password` (PBKDF2-SHA256, random salt, default
 * 600 000 iterations) with AES-256-GCM, as one versioned base64url string.
 */
export async function sealBackup(p: Primitives, plaintext: Bytes, password: string, opts?: { iterations?: number }): Promise<string> {
  const iterations = opts?.iterations ?? MIN_BACKUP_ITERATIONS;
  checkIterations(iterations);
  const salt = p.randomBytes(SALT_LENGTH);
  const iv = p.randomBytes(12);
  const head = new Writer().u8(BACKUP_VERSION).u32(iterations).bytes(salt).finish();
  const k = await backupKey(p, password, salt, iterations);
  const ct = await p.aesGcmEncrypt(k, iv, plaintext, head);
  return toBase64url(new Writer().bytes(head).bytes(iv).bytes(ct).finish());
}

/** Opens a `sealBackup` blob. BAD_BACKUP_PASSWORD (wrong password or altered blob), MALFORMED, UNSUPPORTED_VERSION. */
export async function openBackup(p: Primitives, blob: string, password: string): Promise<Bytes> {
  const bytes = fromBase64url(blob);
  const r = new Reader(bytes);
  if (r.u8() !== BACKUP_VERSION) throw new CryptoError("UNSUPPORTED_VERSION", "unsupported backup version");
  const iterations = r.u32();
  checkIterations(iterations);
  const salt = r.bytes(SALT_LENGTH);
  const head = bytes.subarray(0, r.offset);
  const iv = r.bytes(12);
  const ct = r.rest();
  if (ct.length < 16) throw new CryptoError("MALFORMED", "truncated backup");
  const k = await backupKey(p, password, salt, iterations);
  try {
    return await p.aesGcmDecrypt(k, iv, ct, head);
  } catch {
    throw new CryptoError("BAD_BACKUP_PASSWORD", "wrong password or damaged backup");
  }
}

/** The version byte of a backup sealed under a key rather than a password. */
export const KEYED_BACKUP_VERSION = 2;
const BACKUP_KEY_LENGTH = 32;

/**
 * Encrypts `plaintext` under a 32-byte key the caller derived (the backup key the client
 * derives from the password with Argon2id and HKDF): AES-256-GCM with a random nonce, the
 * version byte as associated data, as one base64url string.
 */
export async function sealBackupWithKey(p: Primitives, plaintext: Bytes, key: Bytes): Promise<string> {
  if (key.length !== BACKUP_KEY_LENGTH) throw new CryptoError("MALFORMED", "a backup key has 32 bytes");
  const head = new Writer().u8(KEYED_BACKUP_VERSION).finish();
  const iv = p.randomBytes(12);
  const ct = await p.aesGcmEncrypt(key, iv, plaintext, head);
  return toBase64url(new Writer().bytes(head).bytes(iv).bytes(ct).finish());
}

/** Opens a `sealBackupWithKey` blob. BAD_BACKUP_PASSWORD (wrong key or altered blob), MALFORMED, UNSUPPORTED_VERSION. */
export async function openBackupWithKey(p: Primitives, blob: string, key: Bytes): Promise<Bytes> {
  if (key.length !== BACKUP_KEY_LENGTH) throw new CryptoError("MALFORMED", "a backup key has 32 bytes");
  const bytes = fromBase64url(blob);
  const r = new Reader(bytes);
  if (r.u8() !== KEYED_BACKUP_VERSION) throw new CryptoError("UNSUPPORTED_VERSION", "unsupported backup version");
  const head = bytes.subarray(0, r.offset);
  const iv = r.bytes(12);
  const ct = r.rest();
  if (ct.length < 16) throw new CryptoError("MALFORMED", "truncated backup");
  try {
    return await p.aesGcmDecrypt(key, iv, ct, head);
  } catch {
    throw new CryptoError("BAD_BACKUP_PASSWORD", "wrong password or damaged backup");
  }
}

/** A backup of a device's private keys (`DeviceIdentity.toJSON()`), sealed under `password`. */
export async function encryptDeviceBackup(p: Primitives, device: DeviceIdentity, password: string): Promise<string> {
  return sealBackup(p, utf8(JSON.stringify(device.toJSON())), password);
}

/** Restores a device from `encryptDeviceBackup`. BAD_BACKUP_PASSWORD, MALFORMED. */
export async function decryptDeviceBackup(p: Primitives, blob: string, password: string): Promise<DeviceIdentity> {
  const text = fromUtf8(await openBackup(p, blob, password));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new CryptoError("MALFORMED", "backup does not hold a device", { cause });
  }
  return DeviceIdentity.fromJSON(p, json);
}
