import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateProfileKey, toBase64url } from "@natter/crypto";
import { openKeys } from "../key-backup.ts";
import { v7 } from "uuid";
import { MessagingPeers, type Peer } from "../testing/messaging-peers.ts";
import { Messenger } from "./messenger.ts";
import { SIGNED_PREKEY_MAX_AGE_MS, rotateSignedPrekeyIfDue } from "./signed-prekey-rotation.ts";

describe("signed prekey rotation", () => {
  const peers = new MessagingPeers();
  const { peer, drain } = peers;

  async function withBackupKey(who: Peer, signedPrekeyAt: number | undefined): Promise<Uint8Array> {
    const backupKey = peers.p.randomBytes(32);
    const account = await who.home.loggedIn();
    await who.home.writeAccount({
      ...account, profileKey: toBase64url(generateProfileKey(peers.p)), backupKey: toBase64url(backupKey),
      ...(signedPrekeyAt === undefined ? {} : { signedPrekeyAt }),
    });
    return backupKey;
  }

  it("replaces a key older than 7 days, seals the backup again, and still opens first messages made before", async () => {
    const now = Date.now();
    const bob = await peer("bob-rot");
    const backupKey = await withBackupKey(bob, now - SIGNED_PREKEY_MAX_AGE_MS - 1);
    const alice = await peer("alice-rot", { prekeys: 0 });
    const { signedPrekey: before, kemLastResortPrekey: beforeKem } = (await peers.edge.edgeFor(alice.userId).claim("bob-rot")).bundle;
    // Alice's first message is made from the old signed prekey (and none of the one-time ones left).
    for (let i = 0; i < 5; i++) await peers.edge.edgeFor(alice.userId).claim("bob-rot");
    await alice.messenger.send("bob-rot", "in flight");

    const deps = { p: peers.p, home: bob.home, edge: peers.edge.edgeFor(bob.userId) };
    assert.equal(await rotateSignedPrekeyIfDue(deps, now), true);
    assert.equal(await rotateSignedPrekeyIfDue(deps, now + 1000), false, "not due again so soon");

    const claimed = (await peers.edge.edgeFor(alice.userId).claim("bob-rot")).bundle;
    const after = claimed.signedPrekey;
    assert.notEqual(after.publicKey, before.publicKey);
    assert.notEqual(claimed.kemLastResortPrekey?.publicKey, beforeKem?.publicKey, "the last-resort KEM prekey rotates with it");
    assert.deepEqual(await drain(bob), ["alice-rot: in flight"], "the previous key still opens what was sent under it");

    const sealed = peers.edge.backups.get(bob.userId);
    assert.ok(sealed, "the backup was not sealed again");
    assert.deepEqual((await openKeys(peers.p, sealed, backupKey)).device.toJSON(), (await bob.home.loggedIn()).device);

    const carol = await peer("carol-rot");
    await carol.messenger.send("bob-rot", "after the rotation");
    assert.deepEqual(await drain(bob), ["carol-rot: after the rotation"]);
  });

  it("starts the clock for a home that never noted when its key was made", async () => {
    const dan = await peer("dan-rot");
    await withBackupKey(dan, undefined);
    const deps = { p: peers.p, home: dan.home, edge: peers.edge.edgeFor(dan.userId) };
    const now = Date.now();
    assert.equal(await rotateSignedPrekeyIfDue(deps, now), false);
    assert.equal((await dan.home.loggedIn()).signedPrekeyAt, now);
    assert.equal(await rotateSignedPrekeyIfDue(deps, now + SIGNED_PREKEY_MAX_AGE_MS), true);
  });

  it("follows the period the user sets (NATTER_SIGNED_PREKEY_DAYS) instead of 7 days", async () => {
    const day = 86_400_000;
    const erin = await peer("erin-rot");
    const twoDaysAgo = Date.now() - 2 * day;
    await withBackupKey(erin, twoDaysAgo);
    await erin.messenger.refillPrekeys();
    assert.equal((await erin.home.loggedIn()).signedPrekeyAt, twoDaysAgo, "not due under the default 7 days");

    const daily = new Messenger({
      p: peers.p, home: erin.home, edge: peers.edge.edgeFor(erin.userId), now: () => Date.now(), newId: v7, notice: () => {},
      signedPrekeyMaxAgeMs: day,
    });
    await daily.refillPrekeys();
    assert.ok((await erin.home.loggedIn()).signedPrekeyAt! > twoDaysAgo, "due under a one-day period");
  });
});
