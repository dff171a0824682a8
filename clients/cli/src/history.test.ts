import assert from "node:assert/strict";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { v7 } from "uuid";
import { History } from "./history.ts";
import { tempDir } from "./testing/harness.ts";

const DAY = 86_400_000;
const ALICE = "0190f5a2-0000-7000-8000-00000000a11c";
const BOB = "0190f5a2-0000-7000-8000-000000000b0b";
const CAT = "0190f5a2-0000-7000-8000-000000000ca7";

describe("history", () => {
  const dir = tempDir("natter-history-");
  after(async () => (await dir)[Symbol.asyncDispose]());
  let clock = Date.UTC(2026, 10, 1, 9, 0);
  const now = () => clock;
  const path = async (name: string) => join((await dir).path, `${name}.sqlite`);

  it("keeps messages across a reopen and finds a word said a week ago", async () => {
    const file = await path("week");
    const first = await History.open(file, ALICE, now);
    const old = v7();
    first.record({ id: old, conversation: "bob", direction: "in", from: "bob", type: "text", text: "the quokka photos are up", sentAt: clock }, BOB);
    first.close();
    clock += 7 * DAY;
    const again = await History.open(file, ALICE, now);
    again.record({ id: v7(), conversation: "bob", direction: "out", from: "alice", type: "text", text: "seen them", sentAt: clock }, BOB);
    const found = again.search(["quokka"], { limit: 10 });
    assert.deepEqual(found.map((e) => [e.id, e.at]), [[old, clock - 7 * DAY]]);
    assert.deepEqual(again.search(["QUOKKA", "photos"], { with: "bob", limit: 10 }).map((e) => e.id), [old]);
    assert.deepEqual(again.search(["quokka"], { with: "cat", limit: 10 }), []);
    assert.deepEqual(again.conversation("bob", { limit: 10 }).map((e) => e.text), ["the quokka photos are up", "seen them"]);
    assert.deepEqual(again.conversation("bob", { limit: 10, before: clock }).map((e) => e.text), ["the quokka photos are up"]);
    assert.deepEqual(again.conversation("bob", { limit: 1 }).map((e) => e.text), ["seen them"], "the last n, oldest first");
    again.close();
  });

  it("takes search words as words, never as query syntax", async () => {
    const h = await History.open(await path("syntax"), ALICE, now);
    h.record({ id: v7(), conversation: "bob", direction: "in", from: "bob", type: "text", text: 'he said "NEAR" OR not', sentAt: clock }, BOB);
    for (const words of [['"NEAR"'], ["OR"], ["NEAR(", "x"], ["*"], ["col:umn"], ["a\"b"]]) {
      assert.doesNotThrow(() => h.search(words, { limit: 5 }), `searching ${JSON.stringify(words)}`);
    }
    assert.equal(h.search(["or"], { limit: 5 }).length, 1);
    assert.throws(() => h.search(["  "], { limit: 5 }), { code: "USAGE" });
    h.close();
  });

  it("keeps the file and its journal readable by its owner only", async () => {
    const file = await path("mode");
    const h = await History.open(file, ALICE, now);
    h.record({ id: v7(), conversation: "bob", direction: "in", from: "bob", type: "text", text: "private", sentAt: clock }, BOB);
    for (const f of [file, `${file}-wal`]) assert.equal((await stat(f)).mode & 0o777, 0o600, f);
    h.close();
  });

  it("forgets a conversation and only that one, leaving none of its words in the file", async () => {
    const file = await path("forget");
    const h = await History.open(file, ALICE, now);
    h.record({ id: v7(), conversation: "bob", direction: "in", from: "bob", type: "text", text: "zanzibarsecret plan", sentAt: clock }, BOB);
    h.record({ id: v7(), conversation: "#team", direction: "out", from: "alice", type: "text", text: "team plan", sentAt: clock });
    assert.equal(h.forget("bob"), 1);
    assert.deepEqual(h.conversation("bob", { limit: 10 }), []);
    assert.deepEqual(h.search(["plan"], { limit: 10 }).map((e) => e.conversation), ["#team"], "gone from the index too");
    for (const f of [file, `${file}-wal`]) {
      const bytes = await readFile(f).catch(() => Buffer.alloc(0));
      assert.ok(!bytes.includes("zanzibarsecret"), `nothing of it left in ${f}`);
    }
    h.close();
  });

  it("moves a sent message on with receipts from its receiver only, forward only, once", async () => {
    const h = await History.open(await path("receipts"), ALICE, now);
    const id = v7();
    h.record({ id, conversation: "bob", direction: "out", from: "alice", type: "text", text: "hi", sentAt: clock }, BOB);
    assert.equal(h.conversation("bob", { limit: 1 })[0]!.status, "sent");
    assert.deepEqual(h.applyReceipt(CAT, "cat", "read", [id]).advanced, [], "cat cannot mark bob's message");
    assert.deepEqual(h.applyReceipt(BOB, "bob", "delivered", [id, id]).advanced, [{ id, conversation: "bob" }]);
    assert.deepEqual(h.applyReceipt(BOB, "bob", "delivered", [id]).advanced, [], "a duplicate changes nothing");
    assert.deepEqual(h.applyReceipt(BOB, "bob", "read", [id]).advanced, [{ id, conversation: "bob" }]);
    assert.deepEqual(h.applyReceipt(BOB, "bob", "delivered", [id]).advanced, [], "never back from read");
    assert.equal(h.conversation("bob", { limit: 1 })[0]!.status, "read");
    const inbound = v7();
    h.record({ id: inbound, conversation: "bob", direction: "in", from: "bob", type: "text", text: "yo", sentAt: clock }, BOB);
    assert.deepEqual(h.applyReceipt(BOB, "bob", "read", [inbound]).advanced, [], "only my own messages take receipts");
    h.close();
  });

  it("keeps a group message's receipts per member", async () => {
    const h = await History.open(await path("group"), ALICE, now);
    const id = v7();
    h.record({ id, conversation: "#team", direction: "out", from: "alice", type: "text", text: "hi all", sentAt: clock });
    h.applyReceipt(BOB, "bob", "delivered", [id]);
    h.applyReceipt(CAT, "cat", "delivered", [id]);
    h.applyReceipt(BOB, "bob", "read", [id]);
    assert.deepEqual(h.applyReceipt(BOB, "bob", "read", [id]).advanced, []);
    const [e] = h.conversation("#team", { limit: 1 });
    assert.deepEqual(e!.receipts!.map((r) => `${r.user} ${r.kind}`).sort(), ["bob delivered", "bob read", "cat delivered"]);
  });

  it("lists every conversation kept, 1:1 and groups, with its last message, the most recent first", async () => {
    const h = await History.open(await path("list"), ALICE, now);
    assert.deepEqual(h.conversations(), []);
    h.record({ id: v7(), conversation: "bob", direction: "in", from: "bob", type: "text", text: "first", sentAt: clock }, BOB);
    clock += 1000;
    h.record({ id: v7(), conversation: "#team", direction: "in", from: "cat", type: "text", text: "team news", sentAt: clock });
    clock += 1000;
    h.record({ id: v7(), conversation: "bob", direction: "out", from: "alice", type: "file", text: "plan.pdf", file: { size: 3, mime: "application/pdf", path: "plan.pdf" }, sentAt: clock }, BOB);
    clock += 1000;
    h.record({ id: v7(), conversation: "cat", direction: "in", from: "cat", type: "text", text: "old", sentAt: clock }, CAT);
    h.forget("cat");
    const list = h.conversations();
    assert.deepEqual(
      list.map((c) => [c.conversation, c.last.direction, c.last.from, c.last.type, c.last.text, c.last.at]),
      [
        ["bob", "out", "alice", "file", "plan.pdf", clock - 1000],
        ["#team", "in", "cat", "text", "team news", clock - 2000],
      ],
    );
    assert.equal(list[0]!.last.status, "sent");
    h.close();
  });

  it("starts empty when the home is logged in as another account", async () => {
    const file = await path("switch");
    const a = await History.open(file, ALICE, now);
    a.record({ id: v7(), conversation: "bob", direction: "in", from: "bob", type: "text", text: "for alice", sentAt: clock }, BOB);
    a.close();
    const b = await History.open(file, BOB, now);
    assert.deepEqual(b.search(["alice"], { limit: 5 }), []);
    b.close();
    assert.deepEqual((await History.open(file, BOB, now)).conversation("bob", { limit: 5 }), []);
  });
});
