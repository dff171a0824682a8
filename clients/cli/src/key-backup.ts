import { CryptoError, DeviceIdentity, fromBase64url, openBackupWithKey, sealBackupWithKey, toBase64url, type Primitives } from "@natter/crypto";
import { ProfileKey } from "@natter/protocol";
import type { AccountFile } from "./home-store.ts";

/** What a key backup restores: the device's private keys and the profile key. */
export interface BackedUpKeys {
  device: DeviceIdentity;
  /** Absent in a backup made before profiles. */
  profileKey?: Uint8Array;
}

/**
 * Seals the device and the profile key under the backup key (derived from the password,
 * `password-keys.ts`; AES-256-GCM) as `{"v":2,"device":…,"profileKey":…}`.
 */
export function sealKeys(p: Primitives, keys: { device: DeviceIdentity; profileKey: Uint8Array }, backupKey: Uint8Array): Promise<string> {
  const json = JSON.stringify({ v: 2, device: keys.device.toJSON(), profileKey: toBase64url(keys.profileKey) });
  return sealBackupWithKey(p, new TextEncoder().encode(json), backupKey);
}

/** Opens a backup made by `sealKeys`. BAD_BACKUP_PASSWORD for a wrong key, MALFORMED otherwise. */
export async function openKeys(p: Primitives, blob: string, backupKey: Uint8Array): Promise<BackedUpKeys> {
  const bytes = await openBackupWithKey(p, blob, backupKey);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new CryptoError("MALFORMED", "the backup does not hold keys", { cause });
  }
  if (typeof json !== "object" || json === null || !("device" in json)) throw new CryptoError("MALFORMED", "the backup does not hold keys");
  const key = ProfileKey.safeParse("profileKey" in json ? json.profileKey : undefined);
  return { device: await DeviceIdentity.fromJSON(p, json.device), ...(key.success ? { profileKey: fromBase64url(key.data) } : {}) };
}

/**
 * Seals the account's keys as they are now and hands the blob to `put` (the `backup`
 * request): called, under the home lock, whenever what the backup holds changes, so the
 * server's copy is always current. Uses the backup key kept in the home, so no password is
 * needed; false when the home keeps none (it then cannot re-seal, and says so).
 */
export async function resealBackup(p: Primitives, account: AccountFile, put: (backup: string) => Promise<unknown>): Promise<boolean> {
  if (account.backupKey === undefined || account.profileKey === undefined) return false;
  const device = await DeviceIdentity.fromJSON(p, account.device);
  await put(await sealKeys(p, { device, profileKey: fromBase64url(account.profileKey) }, fromBase64url(account.backupKey)));
  return true;
}
