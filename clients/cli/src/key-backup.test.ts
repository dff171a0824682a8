import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fromBase64url, generateProfileKey, toBase64url } from "@natter/crypto";
import { openKeys } from "./key-backup.ts";
import { derivePasswordKeys, newPasswordSalt } from "./password-keys.ts";
import { MessagingPeers } from "./testing/messaging-peers.ts";

describe("password keys", () => {
  it("give the same two keys for the same password and salt, and unrelated keys otherwise", async () => {
    const peers = new MessagingPeers();
    const salt = newPasswordSalt(peers.p);
    const a = await derivePasswordKeys(peers.p, "correct horse battery", salt);
    const again = await derivePasswordKeys(peers.p, "correct horse battery", salt);
    assert.deepEqual(again, a);
    assert.match(a.loginSecret, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a.loginSecret, toBase64url(a.backupKey), "the login secret is not the backup key");
    const otherSalt = await derivePasswordKeys(peers.p, "correct horse battery", newPasswordSalt(peers.p));
    assert.notEqual(otherSalt.loginSecret, a.loginSecret);
    // NFC: the same password typed with a combining accent gives the same keys.
    const composed = await derivePasswordKeys(peers.p, "p\u00e4ssword", salt);
    assert.deepEqual(await derivePasswordKeys(peers.p, "pa\u0308ssword", salt), composed);
  });
});

describe("the key backup", () => {
  it("is sealed again, under the kept backup key, when prekeys are refilled", async () => {
    const peers = new MessagingPeers();
    const ada = await peers.peer("ada", { prekeys: 5 });
    const backupKey = peers.p.randomBytes(32);
    const account = await ada.home.loggedIn();
    await ada.home.writeAccount({ ...account, profileKey: toBase64url(generateProfileKey(peers.p)), backupKey: toBase64url(backupKey) });

    assert.equal(await ada.messenger.refillPrekeys(), 55);
    const sealed = peers.edge.backups.get(ada.userId);
    assert.ok(sealed, "no backup was put");
    const restored = await openKeys(peers.p, sealed, backupKey);
    const now = await ada.home.loggedIn();
    assert.deepEqual(restored.device.toJSON(), now.device, "the backup holds the refilled device");
    assert.equal(restored.device.oneTimePrekeyCount(), 55);
    assert.deepEqual(restored.profileKey, fromBase64url(now.profileKey!));
  });
});
