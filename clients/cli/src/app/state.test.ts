import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type Action, type AppState, initialState, reduce, selectedConversation, totalUnread } from "./state.ts";

const run = (...actions: Action[]): AppState => actions.reduce(reduce, initialState);
const msg = (conversation: string, from: string, at: number): Action => ({ t: "message", conversation, from, text: `${from} says hi`, at });

describe("the app's state", () => {
  it("counts messages in conversations that are not open", () => {
    const s = run(msg("bob", "bob", 1), msg("bob", "bob", 2), msg("#team", "carol", 3));
    assert.deepEqual(s.conversations.map((c) => [c.id, c.unread]), [["#team", 1], ["bob", 2]]);
    assert.equal(totalUnread(s), 3);
  });

  it("clears a conversation's count when it opens, and counts nothing while it is open", () => {
    const s = run(msg("bob", "bob", 1), msg("carol", "carol", 2), { t: "open", conversation: "bob" }, msg("bob", "bob", 3));
    assert.equal(s.conversations.find((c) => c.id === "bob")?.unread, 0);
    assert.equal(totalUnread(s), 1);
    assert.equal(s.open, "bob");
  });

  it("counts again once the conversation is closed (Esc)", () => {
    const s = run({ t: "open", conversation: "bob" }, { t: "close" }, msg("bob", "bob", 1));
    assert.equal(s.open, undefined);
    assert.equal(totalUnread(s), 1);
  });

  it("never counts my own messages", () => {
    assert.equal(totalUnread(run(msg("bob", "me", 1))), 0);
  });

  it("orders conversations by their last message, newest first, then the quiet ones by name", () => {
    const s = run({ t: "known", rows: [{ id: "zed" }, { id: "amy" }, { id: "bob", last: { from: "bob", text: "old", at: 5 } }] }, msg("carol", "carol", 9));
    assert.deepEqual(s.conversations.map((c) => c.id), ["carol", "bob", "amy", "zed"]);
    assert.equal(s.conversations.find((c) => c.id === "carol")?.last?.text, "carol says hi");
  });

  it("keeps the highlight on the same conversation when the list reorders", () => {
    let s = run(msg("bob", "bob", 1), msg("carol", "carol", 2));
    assert.equal(selectedConversation(s), "bob");
    s = reduce(s, msg("dave", "dave", 3));
    assert.equal(selectedConversation(s), "bob");
  });

  it("moves the highlight round the list with Tab and the arrows", () => {
    const s = run(msg("a", "a", 3), msg("b", "b", 2), msg("c", "c", 1));
    assert.equal(selectedConversation(s), "a");
    assert.equal(selectedConversation(reduce(s, { t: "select", by: -1 })), "c");
    assert.equal(selectedConversation([1, 1, 1].reduce((x) => reduce(x, { t: "select", by: 1 }), s)), "a");
  });

  it("adds a conversation opened by name, and takes history only for the open one", () => {
    let s = run({ t: "open", conversation: "#team" });
    assert.deepEqual(s.conversations.map((c) => c.id), ["#team"]);
    const entry = { id: "1", conversation: "bob", direction: "in", from: "bob", type: "text", text: "x", sentAt: 1, at: 1 } as const;
    s = reduce(s, { t: "history", conversation: "bob", entries: [entry] });
    assert.deepEqual(s.history, []);
    s = reduce(s, { t: "history", conversation: "#team", entries: [{ ...entry, conversation: "#team" }] });
    assert.equal(s.history.length, 1);
  });

  it("shows a panel until Esc, which closes the panel before the conversation", () => {
    let s = run({ t: "open", conversation: "bob" }, { t: "panel", lines: ["one", "two"] });
    assert.deepEqual(s.panel, ["one", "two"]);
    s = reduce(s, { t: "close" });
    assert.equal(s.panel, undefined);
    assert.equal(s.open, "bob");
    s = reduce(s, { t: "close" });
    assert.equal(s.open, undefined);
    assert.equal(run({ t: "panel", lines: ["x"] }, { t: "open", conversation: "bob" }).panel, undefined);
  });

  it("keeps the last status lines only", () => {
    const s = Array.from({ length: 60 }, (_, i) => i).reduce((x, i) => reduce(x, { t: "status", line: `line ${i}` }), initialState);
    assert.equal(s.status.length, 50);
    assert.equal(s.status.at(-1), "line 59");
  });
});
