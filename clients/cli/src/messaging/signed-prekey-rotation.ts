import { DeviceIdentity, type Primitives } from "@natter/crypto";
import type { HomeStore } from "../home-store.ts";
import { resealBackup } from "../key-backup.ts";
import type { EdgeApi } from "./edge-api.ts";

/** How old a signed prekey may get before it is replaced (default; callers may pass another). */
export const SIGNED_PREKEY_MAX_AGE_MS = 7 * 86_400_000;

/**
 * Replaces the signed prekey, and the last-resort KEM prekey with it, once it is older than
 * `maxAgeMs`. The previous ones' private keys stay in the device until the next rotation
 * (one more period), so first messages made from a bundle claimed before still open. Order matters: the home first (so the server
 * never hands out a key whose private half is missing here), then the backup sealed again,
 * then the new key to the server. A home that never noted when its key was made starts the
 * clock now. True when it rotated.
 */
export async function rotateSignedPrekeyIfDue(
  deps: { p: Primitives; home: HomeStore; edge: EdgeApi },
  now: number,
  maxAgeMs = SIGNED_PREKEY_MAX_AGE_MS,
): Promise<boolean> {
  const { p, home, edge } = deps;
  const due = (at: number | undefined) => at === undefined || now - at >= maxAgeMs;
  if (!due((await home.loggedIn()).signedPrekeyAt)) return false;
  return home.withLock(async (locked) => {
    const account = await locked.loggedIn();
    if (account.signedPrekeyAt === undefined) {
      await locked.writeAccount({ ...account, signedPrekeyAt: now });
      return false;
    }
    if (!due(account.signedPrekeyAt)) return false;
    const device = await DeviceIdentity.fromJSON(p, account.device);
    const { signedPrekey, kemLastResortPrekey } = await device.rotateSignedPrekey();
    const updated = { ...account, device: device.toJSON(), signedPrekeyAt: now };
    await locked.writeAccount(updated);
    await resealBackup(p, updated, (backup) => edge.putBackup(backup));
    await edge.signedPrekey(signedPrekey, kemLastResortPrekey);
    return true;
  });
}

/**
 * Publishes the last-resort KEM prekey beside the signed prekey, for when the server holds
 * none: an account made before PQXDH, or a device whose upload did not arrive. A device
 * without one (a home made before PQXDH) makes it first, in the same order as a rotation:
 * the home, then the backup sealed again, then the server.
 */
export async function publishKemLastResortPrekey(deps: { p: Primitives; home: HomeStore; edge: EdgeApi }): Promise<void> {
  const { p, home, edge } = deps;
  await home.withLock(async (locked) => {
    const account = await locked.loggedIn();
    const device = await DeviceIdentity.fromJSON(p, account.device);
    let kem = device.kemLastResortPrekey();
    if (!kem) {
      kem = await device.rotateKemLastResortPrekey();
      const updated = { ...account, device: device.toJSON() };
      await locked.writeAccount(updated);
      await resealBackup(p, updated, (backup) => edge.putBackup(backup));
    }
    await edge.signedPrekey(device.currentSignedPrekey(), kem);
  });
}
