import { beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { GroupEnvelope } from "@natter/protocol";
import { FakeDirectory, MemoryGroupStore, RecordingInbox, fakeId } from "../../test/fakes.ts";
import { GroupFanout } from "./fanout.ts";
import { createGroup } from "./rules.ts";
import { changesOf } from "./changes.ts";

describe("group fan-out", () => {
  let store: MemoryGroupStore;
  let inbox: RecordingInbox;
  let fanout: GroupFanout;
  let groupId: string;
  const users = new FakeDirectory(["ann", "bob", "cat", "dan"]);
  const envelope = (from: string, fromName: string): GroupEnvelope => ({
    v: 1, id: fakeId(777), from, fromName, groupId, body: new Uint8Array([1, 2, 3]), sentAt: 42,
  });

  beforeEach(async () => {
    store = new MemoryGroupStore();
    inbox = new RecordingInbox();
    fanout = new GroupFanout({ store, inbox });
    const ctx = { actor: users.get("ann"), now: 1, newId: () => fakeId(500) };
    groupId = await store.update("team", async (current) => {
      const t = createGroup(current, ctx, "team", [users.get("bob"), users.get("cat")]);
      return { changes: changesOf(current, t), notices: [], result: t.group.id };
    });
  });

  it("copies a member's message to every other member, with the group", async () => {
    const outcome = await fanout.handle(envelope(users.get("bob").userId, "bob"));
    assert.deepEqual(outcome, { kind: "delivered", copies: 2, full: [] });
    assert.deepEqual(inbox.copies.map((c) => c.to), [users.get("ann").userId, users.get("cat").userId]);
    assert.equal(inbox.copies[0]!.message, inbox.copies[1]!.message, "one message handed over for every member");
    for (const { message } of inbox.copies) {
      assert.deepEqual(message.group, { id: groupId, name: "team" });
      assert.equal(message.id, fakeId(777));
      assert.equal(message.from, users.get("bob").userId);
      assert.deepEqual([...message.body], [1, 2, 3]);
    }
  });

  it("refuses a message from a non-member or to an unknown group", async () => {
    assert.deepEqual(await fanout.handle(envelope(users.get("dan").userId, "dan")), { kind: "refused", reason: "sender not a member" });
    assert.deepEqual(await fanout.handle({ ...envelope(users.get("bob").userId, "bob"), groupId: fakeId(999) }), { kind: "refused", reason: "no such group" });
    assert.equal(inbox.copies.length, 0);
  });

  it("gives every other member their copy when one member's inbox is full, and names the one skipped", async () => {
    inbox.full.add(users.get("ann").userId);
    const outcome = await fanout.handle(envelope(users.get("bob").userId, "bob"));
    assert.deepEqual(outcome, { kind: "delivered", copies: 1, full: [users.get("ann").userId] });
    assert.deepEqual(inbox.copies.map((c) => c.to), [users.get("cat").userId]);
  });

  it("fails when a copy cannot be stored, so the message is retried", async () => {
    inbox.failNext = true;
    await assert.rejects(fanout.handle(envelope(users.get("bob").userId, "bob")));
  });
});
