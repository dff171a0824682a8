import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NatterError } from "@natter/protocol";
import { CliError } from "./errors.ts";
import type { ShownMessage } from "./messaging/incoming.ts";
import { Printer, clock, printable } from "./output.ts";

function printer(json: boolean): { p: Printer; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { p: new Printer((l) => out.push(l), (l) => err.push(l), json), out, err };
}

const sentAt = new Date(2025, 0, 2, 9, 5).getTime();
const message: ShownMessage = { id: "0190a8c4-5d6e-7f00-8a00-000000000001", from: "bob", fromId: "x", sentAt, content: { type: "text", text: "hi there", sentAt } };

describe("output", () => {
  it("shows a message as [hh:mm] sender: text", () => {
    const { p, out } = printer(false);
    p.message(message);
    assert.deepEqual(out, ["[09:05] bob: hi there"]);
  });

  it("writes a message as one JSON object a line", () => {
    const { p, out } = printer(true);
    p.message(message);
    assert.deepEqual(JSON.parse(out[0]!), { id: message.id, from: "bob", type: "text", text: "hi there", sentAt: new Date(sentAt).toISOString() });
  });

  it("keeps a sender's control characters from reaching the terminal", () => {
    const { p, out } = printer(false);
    p.message({ ...message, content: { type: "text", text: "a\u001b[2Jb\r\n[09:06] alice: forged\u202e", sentAt } });
    assert.equal(out.length, 1);
    assert.doesNotMatch(out[0]!, /[\u001b\r\n\u202e]/);
    assert.equal(printable("tab\tstays"), "tab\tstays");
  });

  it("says nothing for an accepted send on the command line, 'sent' in the shell, an object in --json", () => {
    const human = printer(false);
    human.p.sent({ id: "i", to: "bob" }, false);
    human.p.sent({ id: "i", to: "bob" }, true);
    assert.deepEqual(human.out, ["sent"]);
    const json = printer(true);
    json.p.sent({ id: "i", to: "bob" }, false);
    assert.deepEqual(JSON.parse(json.out[0]!), { id: "i", to: "bob", status: "accepted" });
  });

  it("puts failures on stderr as one line, from the catalogue, never the server's words", () => {
    const { p, out, err } = printer(false);
    p.error(new NatterError("BAD_CREDENTIALS", "user alice has password hunter2"));
    p.error(new CliError("NO_SERVICE"));
    p.error(new Error("key material 0xdeadbeef"));
    assert.deepEqual(out, []);
    assert.deepEqual(err, ["natter: wrong username or password", "Sorry, no services available", "natter: something went wrong in natter"]);
  });

  it("puts --json failures on stderr as {error, message}", () => {
    const { p, err } = printer(true);
    p.error(new CliError("NOT_LOGGED_IN"));
    const e = JSON.parse(err[0]!);
    assert.equal(e.error, "NOT_LOGGED_IN");
    assert.match(e.message, /natter login/);
  });

  it("warns about a changed safety number and an unreadable message on stderr", () => {
    const { p, out, err } = printer(false);
    p.notice({ kind: "identity-changed", user: "bob" });
    p.notice({ kind: "undecryptable", user: "bob", id: "i" });
    assert.deepEqual(out, []);
    assert.equal(err.length, 2);
    assert.match(err[0]!, /^⚠ the identity key of bob has changed/);
    assert.equal(err[1], "could not decrypt a message from bob");
    const j = printer(true);
    j.p.notice({ kind: "undecryptable", user: "bob", id: "i" });
    assert.equal(JSON.parse(j.err[0]!).warning, "DECRYPT_FAILED");
  });

  it("keeps progress out of --json output", () => {
    const j = printer(true);
    j.p.status("reconnecting…");
    assert.deepEqual([j.out, j.err], [[], []]);
  });

  it("formats the clock with leading zeros", () => {
    assert.equal(clock(new Date(2025, 5, 6, 7, 8).getTime()), "07:08");
  });
});

describe("output of trust", () => {
  it("never shows a known name from an unknown account as the contact, in either mode", () => {
    const claimed: ShownMessage = { ...message, from: "alice [0190a8c4-5d6e-7f00-8a00-00000000000e]", fromId: "0190a8c4-5d6e-7f00-8a00-00000000000e", warning: "NAME_CLAIMED" };
    const human = printer(false);
    human.p.message(claimed);
    assert.match(human.out[0]!, /^\[09:05\] ⚠ alice \[0190a8c4-5d6e-7f00-8a00-00000000000e\] \(not your contact of that name/);
    const json = printer(true);
    json.p.message(claimed);
    const line = JSON.parse(json.out[0]!);
    assert.deepEqual([line.from, line.fromId, line.warning], [claimed.from, claimed.fromId, "NAME_CLAIMED"]);
  });

  it("flags a message from a changed identity and says what to run", () => {
    const { p, out, err } = printer(false);
    p.message({ ...message, warning: "IDENTITY_CHANGED" });
    p.notice({ kind: "identity-changed", user: "bob" });
    assert.match(out[0]!, /^\[09:05\] ⚠ bob \(new identity key, not trusted yet/);
    assert.match(err[0]!, /natter verify bob.*natter trust bob/);
  });

  it("shows each state of a safety number, both numbers while a change waits", () => {
    const human = printer(false);
    human.p.safetyNumber({ user: "bob", userId: "x", state: "unverified", safetyNumber: "111" });
    human.p.safetyNumber({ user: "bob", userId: "x", state: "changed", safetyNumber: "111", newSafetyNumber: "222" });
    assert.match(human.out[0]!, /\(unverified\):\n {2}111\n.*natter verify bob --mark-verified/);
    assert.match(human.out[1]!, /you trusted:\n {2}111\nnew safety number:\n {2}222\n.*natter trust bob/);
    const json = printer(true);
    json.p.safetyNumber({ user: "bob", userId: "x", state: "verified", safetyNumber: "111" });
    assert.deepEqual(JSON.parse(json.out[0]!), { user: "bob", userId: "x", state: "verified", safetyNumber: "111" });
  });

  it("shows both numbers when a new key is trusted, and says when there was nothing to accept", () => {
    const { p, out } = printer(false);
    p.trusted({ user: "bob", userId: "x", changed: true, before: "111", after: "222" });
    p.trusted({ user: "bob", userId: "x", changed: false, before: "111", after: "111" });
    assert.match(out[0]!, /111[\s\S]*222[\s\S]*accepted/);
    assert.match(out[1]!, /nothing to accept/);
  });
});

describe("output of history and receipts", () => {
  const entry = { id: message.id, conversation: "bob", direction: "out", from: "ann", type: "text", text: "hi\u001b[2J", sentAt, at: sentAt, status: "read" } as const;

  it("shows a receipt as a status line, and its ids in --json", () => {
    const { p, out } = printer(false);
    p.receipt({ from: "bob", receipt: "delivered", conversation: "bob", of: [message.id] });
    p.receipt({ from: "cat", receipt: "read", conversation: "#team", of: [message.id, message.id] });
    assert.deepEqual(out, ["✓ your message delivered to bob", "✓✓ 2 of your messages read by cat in #team"]);
    const json = printer(true);
    json.p.receipt({ from: "bob", receipt: "read", conversation: "bob", of: [message.id] });
    assert.deepEqual(JSON.parse(json.out[0]!), { type: "receipt", receipt: "read", from: "bob", conversation: "bob", of: [message.id] });
  });

  it("shows a kept message with its date, how far it got, and no control characters", () => {
    const { p, out } = printer(false);
    p.historyEntry(entry, false);
    p.historyEntry(entry, true);
    p.historyEntry({ ...entry, conversation: "#team", status: "sent", receipts: [{ user: "bob", kind: "delivered", at: sentAt }, { user: "cat", kind: "read", at: sentAt }] }, true);
    assert.deepEqual(out, [
      "[2025-01-02 09:05] me: hi\\u{1b}[2J  (read)",
      "[2025-01-02 09:05] me → bob: hi\\u{1b}[2J  (read)",
      "[2025-01-02 09:05] #team me: hi\\u{1b}[2J  (delivered to bob; read by cat)",
    ]);
    const json = printer(true);
    json.p.historyEntry(entry, false);
    assert.deepEqual(JSON.parse(json.out[0]!), { ...entry, sentAt: new Date(sentAt).toISOString(), at: new Date(sentAt).toISOString() });
  });
});
