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

  it("warns of a changed identity before the message is shown, and verify shows the new number", async () => {
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
    assert.notEqual(after.safetyNumber, before.safetyNumber);
    assert.equal(after.safetyNumber, theirs.safetyNumber);
    assert.equal(alice.notices.length, 1, "verify warns no second time");
  });
});
