/**
 * Trust belongs to the user, and nothing is shown twice, whatever the server does. The
 * server here is a fake of the client's edge (`MemoryEdge`) that lies the way one who runs
 * the real services could: it answers `claim` with a bundle of its own while `user` still
 * returns the real key, stamps a known name on a message from a fresh account, and
 * delivers a first message again, under a fresh id, long after the conversation moved on.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DeviceIdentity, safetyNumber, type PublicBundle } from "@natter/crypto";
import type { PrekeyBundle } from "@natter/protocol";
import { v7 } from "uuid";
import { CliError } from "../../clients/cli/src/errors.ts";
import type { EdgeApi } from "../../clients/cli/src/messaging/edge-api.ts";
import { MessagingPeers, type Peer } from "../../clients/cli/src/testing/messaging-peers.ts";

/** What `claim` hands out for a published bundle: one of its one-time prekeys, if any. */
function claimable(bundle: PublicBundle): PrekeyBundle {
  const { oneTimePrekeys, ...rest } = bundle;
  return { ...rest, ...(oneTimePrekeys[0] ? { oneTimePrekey: oneTimePrekeys[0] } : {}) };
}

/** A server that, while `substitute` is on, answers every `claim` with the attacker's bundle under the real user's id and name. */
function substituting(attacker: DeviceIdentity, on: { substitute: boolean }): (honest: EdgeApi) => EdgeApi {
  return (honest) => ({
    ...honest,
    claim: async (user) => {
      const real = await honest.claim(user);
      return on.substitute ? { ...real, bundle: claimable(attacker.publicBundle()) } : real;
    },
  });
}

function refusedWith(code: string): (err: unknown) => boolean {
  return (err) => err instanceof CliError && err.code === code;
}

describe("a hostile server against the user's trust", () => {
  const peers = new MessagingPeers();
  const { peer, drain } = peers;

  /** Alice and Bob have each read a message of the other's. */
  async function acquainted(a: Peer, b: Peer): Promise<void> {
    await a.messenger.send(b.name, "hello");
    assert.deepEqual(await drain(b), [`${a.name}: hello`]);
    await b.messenger.send(a.name, "hi");
    assert.deepEqual(await drain(a), [`${b.name}: hi`]);
  }

  it("a bundle substituted by claim, while user returns the real key, shows in the safety number", async () => {
    const mallory = await DeviceIdentity.generate(peers.p, { oneTimePrekeys: 1 });
    const bob = await peer("bob-sub");
    const alice = await peer("alice-sub", { edge: substituting(mallory, { substitute: true }) });
    await alice.messenger.send("bob-sub", "for bob only");
    const mine = await alice.messenger.safetyNumber("bob-sub");
    const theirs = await bob.messenger.safetyNumber("alice-sub");
    const aliceDevice = await DeviceIdentity.fromJSON(peers.p, (await alice.home.loggedIn()).device);
    const bobDevice = await DeviceIdentity.fromJSON(peers.p, (await bob.home.loggedIn()).device);
    const honest = await safetyNumber(peers.p, { userId: alice.userId, identityKey: aliceDevice.identityKey }, { userId: bob.userId, identityKey: bobDevice.identityKey });
    assert.equal(theirs.safetyNumber, honest, "Bob's side has never seen the substitute");
    assert.notEqual(mine.safetyNumber, honest, "Alice's number comes from the key her session really uses");
    assert.notEqual(mine.safetyNumber, theirs.safetyNumber);
  });

  it("refuses a substituted bundle for a contact already pinned, and sends nothing", async () => {
    const mallory = await DeviceIdentity.generate(peers.p, { oneTimePrekeys: 1 });
    const lying = { substitute: false };
    const bob = await peer("bob-pin");
    const alice = await peer("alice-pin", { edge: substituting(mallory, lying) });
    await acquainted(alice, bob);
    // The server makes Alice start again (her sessions are gone) and hands her its own keys.
    await alice.home.writePeerSessions(bob.userId, []);
    lying.substitute = true;
    await assert.rejects(alice.messenger.send("bob-pin", "secret"), refusedWith("IDENTITY_CHANGED"));
    assert.deepEqual(peers.edge.inbox(bob.userId), []);
    const state = await alice.messenger.contactStates();
    assert.equal(state.find((c) => c.username === "bob-pin")?.state, "changed");
  });

  it("never shows a message from a fresh id that claims a known name as that person", async () => {
    const alice = await peer("alice-name");
    const bob = await peer("bob-name");
    const eve = await peer("eve-name");
    await acquainted(alice, bob);
    await eve.messenger.send("bob-name", "it is me, alice, on a new account");
    const [forged] = peers.edge.inbox(bob.userId).map((m) => ({ ...m, fromName: "alice-name" }));
    peers.edge.clearInbox(bob.userId);
    const outcome = await bob.messenger.receive(forged!);
    assert.equal(outcome.kind, "message");
    assert(outcome.kind === "message");
    assert.notEqual(outcome.message.from, "alice-name");
    assert.match(outcome.message.from, new RegExp(eve.userId));
    assert.equal(outcome.message.warning, "NAME_CLAIMED");
    // Bob's "alice" is still the Alice he met.
    await bob.messenger.send("alice-name", "was that you?");
    assert.deepEqual(await drain(alice), ["bob-name: was that you?"]);
  });

  it("warns of a changed identity key and refuses to send until the user trusts it", async () => {
    const alice = await peer("alice-chg");
    const bob = await peer("bob-chg");
    await acquainted(alice, bob);
    const before = await alice.messenger.safetyNumber("bob-chg");
    // Bob's account gets new keys (a new device, or a server that swapped them).
    const fresh = await DeviceIdentity.generate(peers.p, { oneTimePrekeys: 2 });
    peers.edge.republish(bob.userId, fresh.publicBundle());
    await bob.home.writeAccount({ v: 1, userId: bob.userId, username: "bob-chg", device: fresh.toJSON() });
    await bob.home.writePeerSessions(alice.userId, []);
    await bob.messenger.send("alice-chg", "new phone");
    const outcome = await alice.messenger.receive(peers.edge.inbox(alice.userId)[0]!);
    peers.edge.clearInbox(alice.userId);
    assert(outcome.kind === "message");
    assert.equal(outcome.message.from, "bob-chg");
    assert.equal(outcome.message.warning, "IDENTITY_CHANGED");
    await assert.rejects(alice.messenger.send("bob-chg", "are you sure?"), refusedWith("IDENTITY_CHANGED"));
    assert.deepEqual(peers.edge.inbox(bob.userId), []);
    assert.equal((await alice.messenger.contactStates()).find((c) => c.username === "bob-chg")?.state, "changed");
    const trusted = await alice.messenger.trust("bob-chg");
    assert.equal(trusted.before, before.safetyNumber);
    assert.notEqual(trusted.after, before.safetyNumber);
    assert.equal(trusted.after, (await bob.messenger.safetyNumber("alice-chg")).safetyNumber);
    await alice.messenger.send("bob-chg", "welcome back");
    assert.deepEqual(await drain(bob), ["alice-chg: welcome back"]);
    assert.equal((await alice.messenger.contactStates()).find((c) => c.username === "bob-chg")?.state, "unverified");
  });

  /** Alice's first message to Bob (made without a one-time prekey), then 41 turns of the ratchet (one more than it remembers). */
  async function longConversation(alice: Peer, bob: Peer) {
    await alice.messenger.send(bob.name, "first");
    const [first] = peers.edge.inbox(bob.userId);
    assert.deepEqual(await drain(bob), [`${alice.name}: first`]);
    // A turn is a reply each way: each brings Bob a new ratchet key of Alice's, one more than the ratchet remembers.
    for (let turn = 0; turn < 41; turn++) {
      for (const [from, to] of [[bob, alice], [alice, bob]] as const) {
        await from.messenger.send(to.name, `turn ${turn}`);
        assert.deepEqual(await drain(to), [`${from.name}: turn ${turn}`]);
      }
    }
    return first!;
  }

  /** The conversation still works both ways on the session it had. */
  async function stillTogether(alice: Peer, bob: Peer): Promise<void> {
    await bob.messenger.send(alice.name, "still me");
    assert.deepEqual(await drain(alice), [`${bob.name}: still me`]);
    await alice.messenger.send(bob.name, "and me");
    assert.deepEqual(await drain(bob), [`${alice.name}: and me`]);
  }

  it("drops a first message replayed under a fresh id after 41 ratchet turns, and keeps the session", async () => {
    const alice = await peer("alice-rep");
    const bob = await peer("bob-rep", { prekeys: 0 });
    const first = await longConversation(alice, bob);
    const outcome = await bob.messenger.receive({ ...first, id: v7() });
    assert.notEqual(outcome.kind, "message");
    await stillTogether(alice, bob);
  });

  it("knows a replayed first message by the id sealed inside it once its base key is forgotten", async () => {
    const alice = await peer("alice-id");
    const bob = await peer("bob-id", { prekeys: 0, home: { acceptedBaseKeyLimit: 1 } });
    const carol = await peer("carol-id");
    const first = await longConversation(alice, bob);
    // Carol's first message pushes Alice's base key out of Bob's bounded memory.
    await carol.messenger.send("bob-id", "hello from carol");
    assert.deepEqual(await drain(bob), ["carol-id: hello from carol"]);
    const outcome = await bob.messenger.receive({ ...first, id: v7() });
    assert.notEqual(outcome.kind, "message");
    await stillTogether(alice, bob);
  });
});
