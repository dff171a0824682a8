import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createElement } from "react";
import { renderToString } from "ink";
import type { HistoryEntry } from "../history.ts";
import { AppStore } from "./store.ts";
import { AppView, receiptMark } from "./view.ts";

const mine = (status: HistoryEntry["status"]): HistoryEntry => ({ id: "1", conversation: "bob", direction: "out", from: "alice", type: "text", text: "hi", sentAt: 1, at: 1, ...(status ? { status } : {}) });
const noActions = { open: () => undefined, close: () => undefined, line: () => undefined, quit: () => undefined };

describe("the app's screen", () => {
  it("marks my messages sent, delivered and read", () => {
    assert.equal(receiptMark(mine("sent")), "  ✓");
    assert.equal(receiptMark(mine("delivered")), "  ✓✓");
    assert.equal(receiptMark(mine("read")), "  ✓✓ read");
    assert.equal(receiptMark({ ...mine(undefined), conversation: "#team", receipts: [{ user: "bob", kind: "delivered", at: 1 }, { user: "carol", kind: "read", at: 2 }] }), "  ✓✓ read by carol");
    assert.equal(receiptMark({ ...mine("read"), direction: "in" }), "");
  });

  it("shows unread counts in the list, and the open conversation with its marks and warnings", () => {
    const store = new AppStore();
    store.dispatch({ t: "message", conversation: "carol", from: "carol", text: "lunch?", at: 5 });
    store.dispatch({ t: "open", conversation: "bob" });
    store.dispatch({
      t: "history",
      conversation: "bob",
      entries: [
        { id: "a", conversation: "bob", direction: "in", from: "bob", type: "text", text: "hi\u001b[2J", sentAt: 1, at: 1, warning: "IDENTITY_CHANGED" },
        { ...mine("read"), id: "b", text: "welcome back" },
      ],
    });
    const screen = renderToString(createElement(AppView, { store, actions: noActions }), { columns: 100 });
    assert.match(screen, /carol \(1\) ?lunch\?/);
    assert.match(screen, /⚠ bob \(new key: \/verify, \/trust\): hi\\u\{1b\}\[2J/);
    assert.match(screen, /me: welcome back {2}✓✓ read/);
  });

  it("scrolls the list to keep the highlighted conversation in view", () => {
    const store = new AppStore();
    for (let i = 0; i < 40; i++) store.dispatch({ t: "message", conversation: `user${String(i).padStart(2, "0")}`, from: "x", text: "", at: 100 - i });
    store.dispatch({ t: "select", by: -1 });
    const screen = renderToString(createElement(AppView, { store, actions: noActions }), { columns: 100 });
    assert.match(screen, /user39/);
    assert.doesNotMatch(screen, /user00/);
  });
});
