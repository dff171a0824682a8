import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DeviceIdentity, InboundSenderKeys, senderKeyMessageInfo } from "@natter/crypto";
import { v7 } from "uuid";
import { HomeStore } from "./home-store.ts";
import { Messenger, type Notice } from "./messenger.ts";
import { FakeBackend } from "./testing/fake-edge.ts";
import { tempDir, testPrimitives } from "./testing/harness.ts";

interface Peer {
  name: string;
  userId: string;
  home: HomeStore;
  messenger: Messenger;
  notices: Notice[];
}

describe("the messenger in groups", () => {
  const p = testPrimitives();
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let backend: FakeBackend;

  before(async () => {
    dir = await tempDir();
    backend = new FakeBackend();
  });
  after(async () => {
    await dir[Symbol.asyncDispose]();
  });

  async function peer(name: string): Promise<Peer> {
    const device = await DeviceIdentity.generate(p, { oneTimePrekeys: 5 });
    const userId = backend.register(name, "password", device.publicBundle(), "backup-blob-0000").userId;
    const home = await HomeStore.open(join(dir.path, `${name}-${v7()}`));
    await home.writeAccount({ v: 1, userId, username: name, device: device.toJSON() });
    const notices: Notice[] = [];
    const messenger = new Messenger({ p, home, edge: backend.api(userId), now: () => Date.now(), newId: v7, notice: (n) => notices.push(n) });
    return { name, userId, home, messenger, notices };
  }

  /** Handles everything waiting for `to`; returns what would be shown. */
  async function drain(to: Peer): Promise<string[]> {
    const shown: string[] = [];
    for (const msg of backend.inbox(to.userId)) {
      const outcome = await to.messenger.receive(msg);
      if (outcome.kind === "message" && outcome.message.content.type === "text") {
        shown.push(`${outcome.message.group === undefined ? "" : `#${outcome.message.group} `}${outcome.message.from}: ${outcome.message.content.text}`);
      }
      if (outcome.kind === "event") shown.push(`#${outcome.event.group}: ${outcome.event.event} ${outcome.event.user}`);
    }
    backend.clearInbox(to.userId);
    return shown;
  }

  const text = (t: string) => ({ type: "text", text: t, sentAt: Date.now() }) as const;
  const lastBody = () => backend.groupMessages.at(-1)!.body;

  async function storedKeys(who: Peer, groupId: string, sender: Peer): Promise<InboundSenderKeys | undefined> {
    const json = (await who.home.readGroup(groupId))?.inbound[sender.userId];
    return json === undefined ? undefined : InboundSenderKeys.fromJSON(p, json);
  }

  it("carries every member's messages to the others, once, never showing the key hand-over", async () => {
    const [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map(peer)) as [Peer, Peer, Peer];
    backend.group(alice.userId, "create", "team", undefined, ["bob", "carol"]);
    await alice.messenger.sendGroup("team", text("hi all"));
    assert.equal(Buffer.from(lastBody()).indexOf("hi all"), -1, "the server sees ciphertext");
    await bob.messenger.sendGroup("#team", text("hi from bob"));
    assert.deepEqual(await drain(carol), ["#team: created alice", "#team alice: hi all", "#team bob: hi from bob"]);
    assert.deepEqual(await drain(bob), ["#team: created alice", "#team alice: hi all"]);
    assert.deepEqual(await drain(alice), ["#team: created alice", "#team bob: hi from bob"]);
    // A second message needs no new hand-over: one group copy each, nothing 1:1.
    await alice.messenger.sendGroup("team", text("again"));
    assert.equal(backend.inbox(bob.userId).length, 1);
    assert.deepEqual(await drain(bob), ["#team alice: again"]);
    // A redelivered group copy is not shown twice.
    const copy = backend.groupMessages.at(-1)!;
    const again = await carol.messenger.receive({ v: 1, id: copy.id, from: alice.userId, fromName: "alice", body: copy.body, sentAt: 1, group: { id: copy.group, name: "team" } });
    assert.equal(again.kind, "message");
    assert.equal((await carol.messenger.receive({ v: 1, id: copy.id, from: alice.userId, fromName: "alice", body: copy.body, sentAt: 1, group: { id: copy.group, name: "team" } })).kind, "duplicate");
    assert.deepEqual([...alice.notices, ...bob.notices, ...carol.notices], []);
  });

  it("rotates after a removal: the removed member gets nothing and cannot open what comes next", async () => {
    const [alice, bob, carol] = await Promise.all(["amy", "ben", "cid"].map(peer)) as [Peer, Peer, Peer];
    const g = backend.group(alice.userId, "create", "crew", undefined, ["ben", "cid"]);
    await alice.messenger.sendGroup("crew", text("before"));
    const before = lastBody();
    await Promise.all([drain(bob), drain(carol)]);
    const kept = await storedKeys(carol, g.id, alice);
    assert.ok(kept);

    backend.group(alice.userId, "remove", "crew", "cid");
    await alice.messenger.membershipChanged(g, "removed");
    await alice.messenger.sendGroup("crew", text("after"));
    const afterBody = lastBody();
    assert.notEqual(senderKeyMessageInfo(afterBody).keyId, senderKeyMessageInfo(before).keyId);
    assert.deepEqual(await drain(carol), ["#crew: removed cid"], "only the news of the removal");
    await assert.rejects(kept.decrypt(afterBody), { code: "UNKNOWN_SENDER_KEY" });
    assert.deepEqual(await drain(bob), ["#crew: removed cid", "#crew amy: after"]);
  });

  it("rotates when the member list shows someone gone, even without having seen an event", async () => {
    const [alice, bob, carol] = await Promise.all(["ann", "bo", "cy1"].map(peer)) as [Peer, Peer, Peer];
    backend.group(alice.userId, "create", "quiet", undefined, ["bo", "cy1"]);
    await bob.messenger.sendGroup("quiet", text("one"));
    const first = lastBody();
    backend.group(alice.userId, "remove", "quiet", "cy1");
    await bob.messenger.sendGroup("quiet", text("two")); // bob has not read the event
    assert.notEqual(senderKeyMessageInfo(lastBody()).keyId, senderKeyMessageInfo(first).keyId);
    void carol;
  });

  it("gives a member who joins later the key as it is now: nothing older opens", async () => {
    const [alice, bob, dave] = await Promise.all(["al", "bea", "dan"].map(peer)) as [Peer, Peer, Peer];
    const g = backend.group(alice.userId, "create", "club", undefined, ["bea"]);
    await alice.messenger.sendGroup("club", text("old news"));
    const old = lastBody();
    backend.group(dave.userId, "join", "club");
    await alice.messenger.sendGroup("club", text("fresh"));
    assert.equal(senderKeyMessageInfo(lastBody()).keyId, senderKeyMessageInfo(old).keyId, "no rotation for a newcomer");
    assert.deepEqual(await drain(dave), ["#club: joined dan", "#club al: fresh"]);
    const keys = await storedKeys(dave, g.id, alice);
    await assert.rejects(keys!.decrypt(old), { code: "DECRYPT_FAILED" });
    void bob;
  });

  it("reports a group message it has no key for, naming the sender and the group", async () => {
    const [alice, bob] = await Promise.all(["ava", "bill"].map(peer)) as [Peer, Peer];
    const g = backend.group(alice.userId, "create", "lost", undefined, ["bill"]);
    await alice.messenger.sendGroup("lost", text("lost"));
    const copy = backend.inbox(bob.userId).find((m) => m.group)!;
    const outcome = await bob.messenger.receive({ ...copy, id: v7(), from: alice.userId });
    assert.equal(outcome.kind, "dropped");
    // bob read nothing yet: the hand-over is still waiting in his inbox, so the copy could not open.
    assert.equal(bob.notices.length, 1);
    assert.deepEqual({ ...bob.notices[0], id: "" }, { kind: "undecryptable", user: "ava", id: "", group: "lost" });
    void g;
  });

  it("hands out a file message again until its download settles", async () => {
    const [alice, bob] = await Promise.all(["abe", "bud"].map(peer)) as [Peer, Peer];
    const file = { id: v7(), key: "a".repeat(43), digest: "b".repeat(43), size: 3, mime: "text/plain", name: "x.txt" };
    await alice.messenger.sendPayload("bud", { type: "file", file, sentAt: 5 });
    const [msg] = backend.inbox(bob.userId);
    const first = await bob.messenger.receive(msg!);
    assert.equal(first.kind === "message" && first.message.content.type, "file");
    const again = await bob.messenger.receive(msg!);
    assert.deepEqual(again.kind === "message" && again.message, first.kind === "message" && first.message, "redelivered before the download finished: the same file again");
    await bob.messenger.settleFile(msg!.id);
    assert.equal((await bob.messenger.receive(msg!)).kind, "duplicate");
  });

  it("refuses a group it is not in, and a bad group name", async () => {
    const [eve] = await Promise.all(["eve"].map(peer)) as [Peer];
    await assert.rejects(eve.messenger.sendGroup("team", text("x")), { code: "NOT_A_MEMBER" });
    await assert.rejects(eve.messenger.sendGroup("no", text("x")), { code: "INVALID_GROUP_NAME" });
  });
});
