import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { rejectsWith, text } from "../test/fixtures.ts";
import { providers } from "../test/providers.ts";
import { fromBase64url, toBase64url } from "./bytes.ts";
import { decryptDeviceBackup, encryptDeviceBackup, openBackup, openBackupWithKey, sealBackup, sealBackupWithKey } from "./backup.ts";
import { DeviceIdentity } from "./identity.ts";

const { p } = providers[0]!;

describe("key backup", () => {
  it("round-trips, and a wrong password or a tampered blob gives BAD_BACKUP_PASSWORD", async () => {
    const blob = await sealBackup(p, text("secret keys"), "correct horse");
    assert.deepEqual(await openBackup(p, blob, "correct horse"), text("secret keys"));
    await rejectsWith(() => openBackup(p, blob, "wrong horse"), "BAD_BACKUP_PASSWORD");
    const bytes = fromBase64url(blob);
    bytes[bytes.length - 3]! ^= 1;
    await rejectsWith(() => openBackup(p, toBase64url(bytes), "correct horse"), "BAD_BACKUP_PASSWORD");
  });

  it("refuses fewer than 600 000 iterations, both ways, and unknown versions", async () => {
    await rejectsWith(() => sealBackup(p, text("x"), "pw", { iterations: 1000 }), "MALFORMED");
    const weak = new Uint8Array(1 + 4 + 16 + 12 + 32);
    weak[0] = 1;
    new DataView(weak.buffer).setUint32(1, 599_999);
    await rejectsWith(() => openBackup(p, toBase64url(weak), "pw"), "MALFORMED");
    weak[0] = 2;
    await rejectsWith(() => openBackup(p, toBase64url(weak), "pw"), "UNSUPPORTED_VERSION");
    await rejectsWith(() => openBackup(p, "not base64!", "pw"), "MALFORMED");
  });

  it("restores a device that can still open initial messages", async () => {
    const device = await DeviceIdentity.generate(p, { oneTimePrekeys: 3 });
    const blob = await encryptDeviceBackup(p, device, "pässword");
    const restored = await decryptDeviceBackup(p, blob, "pa\u0308ssword");
    assert.deepEqual(restored.toJSON(), device.toJSON());
  });

  it("seals under a 32-byte key: a wrong key, a password-sealed blob or a tampered one does not open", async () => {
    const key = p.randomBytes(32);
    const blob = await sealBackupWithKey(p, text("secret keys"), key);
    assert.deepEqual(await openBackupWithKey(p, blob, key), text("secret keys"));
    await rejectsWith(() => openBackupWithKey(p, blob, p.randomBytes(32)), "BAD_BACKUP_PASSWORD");
    const bytes = fromBase64url(blob);
    bytes[0] = 1;
    await rejectsWith(() => openBackupWithKey(p, toBase64url(bytes), key), "UNSUPPORTED_VERSION");
    bytes[0] = 2;
    bytes[bytes.length - 1]! ^= 1;
    await rejectsWith(() => openBackupWithKey(p, toBase64url(bytes), key), "BAD_BACKUP_PASSWORD");
    await rejectsWith(() => sealBackupWithKey(p, text("x"), p.randomBytes(16)), "MALFORMED");
  });
});
