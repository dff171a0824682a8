import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DeviceIdentity } from "@natter/crypto";
import { MessagingPeers } from "../testing/messaging-peers.ts";

describe("contacts", () => {
  const peers = new MessagingPeers();
  const { peer, drain } = peers;

  it("warns loudly when a contact's identity key changes", async () => {
    const alice = await peer("paul");
    const bob = await peer("quinn");
    await alice.messenger.send("quinn", "hi");
    await drain(bob);
    // Quinn loses the device and registers new keys under the same account.
    const fresh = await DeviceIdentity.generate(peers.p, { oneTimePrekeys: 2 });
    peers.edge.republish(bob.userId, fresh.publicBundle());
    await bob.home.writeAccount({ v: 1, userId: bob.userId, username: "quinn", device: fresh.toJSON() });
    await bob.home.writePeerSessions(alice.userId, []);
    await bob.messenger.send("paul", "new phone");
    assert.deepEqual(await drain(alice), ["quinn: new phone"]);
    assert.deepEqual(alice.notices, [{ kind: "identity-changed", user: "quinn" }]);
  });

  it("warns of a changed identity before the message is shown, and verify shows the pinned number beside the new one", async () => {
    const alice = await peer("uma");
    const bob = await peer("vic");
    await alice.messenger.send("vic", "hi");
    await drain(bob);
    const before = await alice.messenger.safetyNumber("vic");
    const fresh = await DeviceIdentity.generate(peers.p, { oneTimePrekeys: 2 });
    peers.edge.republish(bob.userId, fresh.publicBundle());
    await bob.home.writeAccount({ v: 1, userId: bob.userId, username: "vic", device: fresh.toJSON() });
    await bob.home.writePeerSessions(alice.userId, []);
    await bob.messenger.send("uma", "new phone");
    // The receiver shows a message only once receive() has returned it: the warning is already out.
    const outcome = await alice.messenger.receive(peers.edge.inbox(alice.userId)[0]!);
    assert.equal(outcome.kind, "message");
    assert.deepEqual(alice.notices, [{ kind: "identity-changed", user: "vic" }]);
    peers.edge.clearInbox(alice.userId);
    const after = await alice.messenger.safetyNumber("vic");
    const theirs = await bob.messenger.safetyNumber("uma");
    assert.equal(after.state, "changed");
    assert.equal(after.safetyNumber, before.safetyNumber, "the pin stays until the user trusts the new key");
    assert.equal(after.newSafetyNumber, theirs.safetyNumber);
    assert.equal(alice.notices.length, 1, "verify warns no second time");
  });

  it("pins at first contact, records a comparison, and forgets it when a new key is trusted", async () => {
    const alice = await peer("wes");
    const bob = await peer("xena");
    await alice.messenger.send("xena", "hi");
    await drain(bob);
    assert.deepEqual((await alice.messenger.contactStates()).map((c) => [c.username, c.state]), [["xena", "unverified"]]);
    await alice.messenger.markVerified("xena");
    assert.equal((await alice.messenger.safetyNumber("xena")).state, "verified");
    // Nobody is marked verified before there is a pin to compare.
    await assert.rejects(alice.messenger.markVerified("nobody-here"), (err: unknown) => err instanceof Error && "code" in err && err.code === "NOT_A_CONTACT");
    const fresh = await DeviceIdentity.generate(peers.p, { oneTimePrekeys: 2 });
    peers.edge.republish(bob.userId, fresh.publicBundle());
    // The server's key differs from the pin: verify itself notices and holds the change.
    const seen = await alice.messenger.safetyNumber("xena");
    assert.equal(seen.state, "changed");
    assert.notEqual(seen.newSafetyNumber, seen.safetyNumber);
    await assert.rejects(alice.messenger.markVerified("xena"), (err: unknown) => err instanceof Error && "code" in err && err.code === "IDENTITY_CHANGED");
    const trusted = await alice.messenger.trust("xena");
    assert.deepEqual([trusted.changed, trusted.before, trusted.after], [true, seen.safetyNumber, seen.newSafetyNumber]);
    assert.equal((await alice.messenger.contactStates())[0]?.state, "unverified");
    assert.equal((await alice.messenger.trust("xena")).changed, false, "nothing waits the second time");
  });
});
