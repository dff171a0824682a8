import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InboundSenderKeys, senderKeyMessageInfo } from "@natter/crypto";
import { v7 } from "uuid";
import { MessagingPeers, type Peer } from "../testing/messaging-peers.ts";

describe("group sender keys", () => {
  const peers = new MessagingPeers();
  const { drain } = peers;
  const peer = (name: string) => peers.peer(name);
  const text = (t: string) => ({ type: "text", text: t, sentAt: Date.now() }) as const;
  const lastBody = () => peers.edge.groupMessages.at(-1)!.body;

  async function storedKeys(who: Peer, groupId: string, sender: Peer): Promise<InboundSenderKeys | undefined> {
    const json = (await who.home.readGroup(groupId))?.inbound[sender.userId];
    return json === undefined ? undefined : InboundSenderKeys.fromJSON(peers.p, json);
  }

  it("carries every member's messages to the others, once, never showing the key hand-over", async () => {
    const [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map(peer)) as [Peer, Peer, Peer];
    (await alice.messenger.changeGroup("create", "team", { members: ["bob", "carol"] })).view;
    await alice.messenger.sendGroup("team", text("hi all"));
    assert.equal(Buffer.from(lastBody()).indexOf("hi all"), -1, "the server sees ciphertext");
    await bob.messenger.sendGroup("#team", text("hi from bob"));
    assert.deepEqual(await drain(carol), ["#team: created alice", "#team alice: hi all", "#team bob: hi from bob"]);
    assert.deepEqual(await drain(bob), ["#team: created alice", "#team alice: hi all"]);
    assert.deepEqual(await drain(alice), ["#team: created alice", "#team bob: hi from bob"]);
    // A second message needs no new hand-over: one group copy each, nothing 1:1.
    await alice.messenger.sendGroup("team", text("again"));
    assert.equal(peers.edge.inbox(bob.userId).length, 1);
    assert.deepEqual(await drain(bob), ["#team alice: again"]);
    // A redelivered group copy is not shown twice.
    const copy = peers.edge.groupMessages.at(-1)!;
    const again = await carol.messenger.receive({ v: 1, id: copy.id, from: alice.userId, fromName: "alice", body: copy.body, sentAt: 1, group: { id: copy.group, name: "team" } });
    assert.equal(again.kind, "message");
    assert.equal((await carol.messenger.receive({ v: 1, id: copy.id, from: alice.userId, fromName: "alice", body: copy.body, sentAt: 1, group: { id: copy.group, name: "team" } })).kind, "duplicate");
    assert.deepEqual([...alice.notices, ...bob.notices, ...carol.notices], []);
  });

  it("rotates after a removal: the removed member gets nothing and cannot open what comes next", async () => {
    const [alice, bob, carol] = await Promise.all(["amy", "ben", "cid"].map(peer)) as [Peer, Peer, Peer];
    const g = (await alice.messenger.changeGroup("create", "crew", { members: ["ben", "cid"] })).view;
    await alice.messenger.sendGroup("crew", text("before"));
    const before = lastBody();
    await Promise.all([drain(bob), drain(carol)]);
    const kept = await storedKeys(carol, g.id, alice);
    assert.ok(kept);

    await alice.messenger.changeGroup("remove", "crew", { user: "cid" });
    await alice.messenger.membershipChanged(g, "removed");
    await alice.messenger.sendGroup("crew", text("after"));
    const afterBody = lastBody();
    assert.notEqual(senderKeyMessageInfo(afterBody).keyId, senderKeyMessageInfo(before).keyId);
    assert.deepEqual(await drain(carol), ["#crew: removed cid"], "only the news of the removal");
    await assert.rejects(kept.decrypt(afterBody), { code: "UNKNOWN_SENDER_KEY" });
    assert.deepEqual(await drain(bob), ["#crew: removed cid", "#crew amy: after"]);
  });

  it("rotates when the member list shows someone gone, even without having seen an event", async () => {
    const [alice, bob, carol] = await Promise.all(["ann", "boo", "cy1"].map(peer)) as [Peer, Peer, Peer];
    (await alice.messenger.changeGroup("create", "quiet", { members: ["boo", "cy1"] })).view;
    await bob.messenger.sendGroup("quiet", text("one"));
    const first = lastBody();
    await alice.messenger.changeGroup("remove", "quiet", { user: "cy1" });
    await bob.messenger.sendGroup("quiet", text("two")); // bob has not read the event
    assert.notEqual(senderKeyMessageInfo(lastBody()).keyId, senderKeyMessageInfo(first).keyId);
    void carol;
  });

  it("gives a member who joins later the key as it is now: nothing older opens", async () => {
    const [alice, bob, dave] = await Promise.all(["alf", "bea", "dan"].map(peer)) as [Peer, Peer, Peer];
    const g = (await alice.messenger.changeGroup("create", "club", { members: ["bea"] })).view;
    await alice.messenger.sendGroup("club", text("old news"));
    const old = lastBody();
    await dave.messenger.changeGroup("join", "club");
    await alice.messenger.sendGroup("club", text("fresh"));
    assert.equal(senderKeyMessageInfo(lastBody()).keyId, senderKeyMessageInfo(old).keyId, "no rotation for a newcomer");
    assert.deepEqual(await drain(dave), ["#club: joined dan", "#club alf: fresh"]);
    const keys = await storedKeys(dave, g.id, alice);
    await assert.rejects(keys!.decrypt(old), { code: "DECRYPT_FAILED" });
    void bob;
  });

  it("reports a group message it has no key for, naming the sender and the group", async () => {
    const [alice, bob] = await Promise.all(["ava", "bill"].map(peer)) as [Peer, Peer];
    const g = (await alice.messenger.changeGroup("create", "lost", { members: ["bill"] })).view;
    await alice.messenger.sendGroup("lost", text("lost"));
    const copy = peers.edge.inbox(bob.userId).find((m) => m.group)!;
    const outcome = await bob.messenger.receive({ ...copy, id: v7(), from: alice.userId });
    assert.equal(outcome.kind, "dropped");
    // bob read nothing yet: the hand-over is still waiting in his inbox, so the copy could not open.
    assert.equal(bob.notices.length, 1);
    assert.deepEqual({ ...bob.notices[0], id: "" }, { kind: "undecryptable", user: "ava", id: "", group: "lost" });
    void g;
  });

  it("refuses a group it is not in, and a bad group name", async () => {
    const [eve] = await Promise.all(["eve"].map(peer)) as [Peer];
    await assert.rejects(eve.messenger.sendGroup("team", text("x")), { code: "NOT_A_MEMBER" });
    await assert.rejects(eve.messenger.sendGroup("no", text("x")), { code: "INVALID_GROUP_NAME" });
  });
});
