import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { v7 } from "uuid";
import { DeviceIdentity, type DeviceIdentityJSON } from "@natter/crypto";
import { MessagingPeers } from "../testing/messaging-peers.ts";
import type { EdgeApi } from "./edge-api.ts";
import { PREKEY_LOW_WATER, PREKEY_REFILL } from "./direct-sessions.ts";

describe("1:1 sessions", () => {
  const peers = new MessagingPeers();
  const { peer, drain } = peers;

  it("carries a first message, replies and follow-ups between two homes", async () => {
    const alice = await peer("alice");
    const bob = await peer("bob");
    await alice.messenger.send("bob", "hello bob");
    assert.notDeepEqual(peers.edge.inbox(bob.userId)[0]!.body, new TextEncoder().encode("hello bob"));
    assert.deepEqual(await drain(bob), ["alice: hello bob"]);
    await bob.messenger.send("alice", "hi alice");
    await bob.messenger.send("ALICE", "how are you?");
    assert.deepEqual(await drain(alice), ["bob: hi alice", "bob: how are you?"]);
    await alice.messenger.send("bob", "fine");
    assert.deepEqual(await drain(bob), ["alice: fine"]);
    assert.deepEqual([...alice.notices, ...bob.notices], []);
  });

  it("reads several first messages sent before any reply", async () => {
    const alice = await peer("carol");
    const bob = await peer("dave");
    for (const t of ["one", "two", "three"]) await alice.messenger.send("dave", t);
    assert.deepEqual(await drain(bob), ["carol: one", "carol: two", "carol: three"]);
  });

  it("reports a message that does not decrypt, without detail, and drops it", async () => {
    const alice = await peer("gina");
    const bob = await peer("hank");
    await alice.messenger.send("hank", "first");
    await drain(bob);
    await alice.messenger.send("hank", "tampered");
    const [msg] = peers.edge.inbox(bob.userId);
    const body = new Uint8Array(msg!.body);
    body[body.length - 1]! ^= 1;
    const outcome = await bob.messenger.receive({ ...msg!, body });
    assert.deepEqual(outcome, { kind: "dropped", newSession: false });
    assert.deepEqual(bob.notices, [{ kind: "undecryptable", user: "gina", id: msg!.id }]);
    // Garbage is no better, and a redelivery of either is simply acked.
    const junk = { ...msg!, id: v7(), body: new Uint8Array([1, 2, 3]) };
    assert.equal((await bob.messenger.receive(junk)).kind, "dropped");
    assert.equal((await bob.messenger.receive(junk)).kind, "duplicate");
    // The session survives: the next real message reads.
    await drain(bob);
    await alice.messenger.send("hank", "after");
    assert.deepEqual(await drain(bob), ["gina: after"]);
  });

  it("recovers when both sides start a session at once", async () => {
    const alice = await peer("ivan");
    const bob = await peer("judy");
    await alice.messenger.send("judy", "from ivan");
    await bob.messenger.send("ivan", "from judy");
    assert.deepEqual(await drain(bob), ["ivan: from ivan"]);
    assert.deepEqual(await drain(alice), ["judy: from judy"]);
    for (let i = 0; i < 3; i++) {
      await alice.messenger.send("judy", `a${i}`);
      await bob.messenger.send("ivan", `b${i}`);
      assert.deepEqual(await drain(bob), [`ivan: a${i}`]);
      assert.deepEqual(await drain(alice), [`judy: b${i}`]);
    }
  });

  it("loses no ratchet step when two processes of one home send at once", async () => {
    const alice = await peer("kate");
    const alice2 = await peer("kate", { shareHome: alice });
    const bob = await peer("liam");
    await alice.messenger.send("liam", "hello");
    await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? alice : alice2).messenger.send("liam", `m${i}`)));
    const shown = await drain(bob);
    assert.equal(shown.length, 11);
    assert.deepEqual(bob.notices, []);
  });

  it("tops up one-time prekeys once the server runs low", async () => {
    const alice = await peer("mike");
    const bob = await peer("nina", { prekeys: PREKEY_LOW_WATER });
    await alice.messenger.send("nina", "hello");
    assert.equal(peers.edge.prekeyCount(bob.userId), PREKEY_LOW_WATER - 1);
    const outcome = await bob.messenger.receive(peers.edge.inbox(bob.userId)[0]!);
    assert.equal(outcome.kind === "message" && outcome.newSession, true);
    assert.equal(await bob.messenger.refillPrekeys(), PREKEY_LOW_WATER - 1 + PREKEY_REFILL);
    assert.equal(await bob.messenger.refillPrekeys(), undefined);
    // The new prekeys are usable: a third user's first message reads.
    for (let i = 0; i < PREKEY_LOW_WATER; i++) peers.edge.claim("nina");
    const carl = await peer("oscar");
    await carl.messenger.send("nina", "via a refilled prekey");
    assert.deepEqual((await drain(bob)).slice(-1), ["oscar: via a refilled prekey"]);
  });

  it("computes the same safety number on both sides", async () => {
    const alice = await peer("rita");
    const bob = await peer("sam");
    const a = await alice.messenger.safetyNumber("sam");
    const b = await bob.messenger.safetyNumber("rita");
    assert.equal(a.safetyNumber, b.safetyNumber);
    assert.match(a.safetyNumber, /^(\d{5} ){11}\d{5}$/);
  });

  it("refuses an unknown user, an invalid name and oneself", async () => {
    const alice = await peer("tina");
    await assert.rejects(alice.messenger.send("nobody", "x"), { code: "NO_SUCH_USER" });
    await assert.rejects(alice.messenger.send("NO", "x"), { code: "INVALID_USERNAME" });
    await assert.rejects(alice.messenger.send("tina", "x"), { code: "SELF" });
  });

  it("tops up one-time KEM prekeys too, each spent by one first message", async () => {
    const bob = await peer("pq-bob", { prekeys: PREKEY_LOW_WATER });
    const alice = await peer("pq-alice");
    await alice.messenger.send("pq-bob", "hello");
    assert.equal(peers.edge.kemPrekeyCount(bob.userId), PREKEY_LOW_WATER - 1);
    assert.deepEqual(await drain(bob), ["pq-alice: hello"]);
    assert.equal(await bob.messenger.refillPrekeys(), PREKEY_LOW_WATER - 1 + PREKEY_REFILL);
    assert.equal(peers.edge.kemPrekeyCount(bob.userId), PREKEY_LOW_WATER - 1 + PREKEY_REFILL);
    const device = await DeviceIdentity.fromJSON(peers.p, (await bob.home.loggedIn()).device);
    assert.equal(device.kemOneTimePrekeyCount(), PREKEY_LOW_WATER - 1 + PREKEY_REFILL, "the first message's KEM prekey is gone here too");
  });

  it("refuses a bundle a hostile server stripped of its KEM prekeys, with NO_KEM_PREKEY", async () => {
    const strip = (honest: EdgeApi): EdgeApi => ({
      ...honest,
      claim: async (user) => {
        const claimed = await honest.claim(user);
        const { kemLastResortPrekey: _l, kemOneTimePrekey: _o, ...bundle } = claimed.bundle;
        return { ...claimed, bundle };
      },
    });
    const alice = await peer("strip-alice", { edge: strip });
    const bob = await peer("strip-bob");
    await assert.rejects(alice.messenger.send("strip-bob", "harvest me"), { code: "NO_KEM_PREKEY" });
    assert.deepEqual(peers.edge.inbox(bob.userId), []);
  });

  it("publishes KEM prekeys for a home made before PQXDH on its next start; its sessions carry on", async () => {
    const bob = await peer("old-bob");
    const alice = await peer("old-alice");
    await alice.messenger.send("old-bob", "before");
    assert.deepEqual(await drain(bob), ["old-alice: before"]);
    // Bob's home and the server's copy of his keys as they were before PQXDH.
    const account = await bob.home.loggedIn();
    const { kemLastResortPrekey: _a, previousKemLastResortPrekey: _b, kemOneTimePrekeys: _c, nextKemPrekeyId: _d, ...oldDevice } = account.device as DeviceIdentityJSON;
    await bob.home.writeAccount({ ...account, device: oldDevice });
    const old = (await DeviceIdentity.fromJSON(peers.p, oldDevice)).publicBundle();
    peers.edge.republish(bob.userId, { ...old, kemOneTimePrekeys: [] });
    const carol = await peer("old-carol");
    await assert.rejects(carol.messenger.send("old-bob", "too early"), { code: "NO_KEM_PREKEY" });

    await bob.messenger.refillPrekeys();
    const published = peers.edge.claim("old-bob").bundle;
    assert.ok(published.kemLastResortPrekey && published.kemOneTimePrekey, "the last-resort and one-time KEM prekeys are published");
    await carol.messenger.send("old-bob", "after");
    await alice.messenger.send("old-bob", "same session");
    assert.deepEqual(await drain(bob), ["old-carol: after", "old-alice: same session"]);
  });
});
