import { CryptoError, DeviceIdentity, fromBase64url, openBackup, sealBackup, toBase64url, type Primitives } from "@natter/crypto";
import { ProfileKey } from "@natter/protocol";

/** What a key backup restores: the device's private keys and, since profiles, the profile key. */
export interface BackedUpKeys {
  device: DeviceIdentity;
  /** Absent in a backup made before profiles. */
  profileKey?: Uint8Array;
}

/**
 * Seals the device and the profile key under the password (`sealBackup`: PBKDF2-SHA256,
 * AES-256-GCM) as `{"v":2,"device":…,"profileKey":…}`.
 */
export function sealKeys(p: Primitives, keys: { device: DeviceIdentity; profileKey: Uint8Array }, password: string): Promise<string> {
  const json = JSON.stringify({ v: 2, device: keys.device.toJSON(), profileKey: toBase64url(keys.profileKey) });
  return sealBackup(p, new TextEncoder().encode(json), password);
}

/**
 * Opens a backup made by `sealKeys`, or an older one holding only the device
 * (`encryptDeviceBackup`). BAD_BACKUP_PASSWORD for a wrong password, MALFORMED otherwise.
 */
export async function openKeys(p: Primitives, blob: string, password: string): Promise<BackedUpKeys> {
  const bytes = await openBackup(p, blob, password);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new CryptoError("MALFORMED", "the backup does not hold keys", { cause });
  }
  if (typeof json === "object" && json !== null && "device" in json) {
    const { device, profileKey } = json as { device: unknown; profileKey?: unknown };
    const key = ProfileKey.safeParse(profileKey);
    return { device: await DeviceIdentity.fromJSON(p, device), ...(key.success ? { profileKey: fromBase64url(key.data) } : {}) };
  }
  return { device: await DeviceIdentity.fromJSON(p, json) };
}
