import { describeError } from "./errors.ts";
import type { HistoryEntry } from "./history.ts";
import type { SafetyNumberView } from "./messaging/direct-sessions.ts";
import type { ShownEvent, ShownMessage } from "./messaging/incoming.ts";
import type { Notice } from "./messaging/notice.ts";

/** Where a received file was saved. */
export interface SavedFile {
  name: string;
  size: number;
  mime: string;
  path: string;
}

/** Where a line goes; the shell swaps in a writer that keeps its prompt intact. */
export type LineWriter = (line: string) => void;

/**
 * Everything natter prints. Human mode writes sentences; `--json` writes one JSON object
 * a line (results on stdout, failures and warnings on stderr) for scripts.
 */
export class Printer {
  constructor(
    private out: LineWriter,
    private readonly err: LineWriter,
    readonly json: boolean,
  ) {}

  /** Redirects stdout lines (the shell prints above its prompt). */
  setOut(out: LineWriter): void {
    this.out = out;
  }

  /** A text message; a file message once its file is saved (`saved`). */
  message(m: ShownMessage, saved?: SavedFile): void {
    const group = m.group === undefined ? {} : { group: m.group };
    const sentAt = new Date(m.sentAt).toISOString();
    const sender = m.warning === undefined ? m.from : `⚠ ${m.from} (${SENDER_WARNINGS[m.warning]})`;
    const who = m.group === undefined ? sender : `#${m.group} ${sender}`;
    const trust = m.warning === undefined ? {} : { fromId: m.fromId, warning: m.warning };
    if (m.content.type === "text") {
      if (this.json) this.out(JSON.stringify({ id: m.id, from: m.from, ...trust, ...group, type: "text", text: m.content.text, sentAt }));
      else this.out(`[${clock(m.sentAt)}] ${who}: ${printable(m.content.text)}`);
      return;
    }
    if (!saved) throw new Error("invariant broken: a file message is shown once saved");
    if (this.json) {
      this.out(JSON.stringify({ id: m.id, from: m.from, ...trust, ...group, type: "file", file: saved, sentAt }));
    } else {
      this.out(`[${clock(m.sentAt)}] ${who}: sent a file: ${printable(saved.name)} (${formatSize(saved.size)}, ${printable(saved.mime)}) saved to ${printable(saved.path)}`);
    }
  }

  /** A change of a group's membership: `[hh:mm] #team: alice added bob`. */
  event(e: ShownEvent): void {
    if (this.json) {
      this.out(JSON.stringify({ id: e.id, type: "event", group: e.group, event: e.event, user: e.user, ...(e.by ? { by: e.by } : {}), sentAt: new Date(e.sentAt).toISOString() }));
    } else {
      this.out(`[${clock(e.sentAt)}] #${e.group}: ${describeEvent(e)}`);
    }
  }

  /**
   * A receipt that moved my messages on: a status line for humans (`✓ delivered to alice`,
   * `✓✓ read by bob in #team`), an object with the message ids for scripts.
   */
  receipt(r: { from: string; receipt: "delivered" | "read"; conversation: string; of: string[] }): void {
    if (this.json) {
      this.out(JSON.stringify({ type: "receipt", receipt: r.receipt, from: r.from, conversation: r.conversation, of: r.of }));
      return;
    }
    const what = r.of.length === 1 ? "your message" : `${r.of.length} of your messages`;
    const where = r.conversation.startsWith("#") ? ` in ${r.conversation}` : "";
    this.out(r.receipt === "delivered" ? `✓ ${what} delivered to ${r.from}${where}` : `✓✓ ${what} read by ${r.from}${where}`);
  }

  /** One message from history: `[2026-11-30 09:15] alice: hi`, my own with how far it got. */
  historyEntry(e: HistoryEntry, withConversation: boolean): void {
    if (this.json) {
      const { text, file, ...rest } = e;
      this.out(JSON.stringify({
        ...rest, ...(e.type === "text" ? { text } : { file: { name: text, ...file } }), sentAt: new Date(e.sentAt).toISOString(), at: new Date(e.at).toISOString(),
        ...(e.receipts ? { receipts: e.receipts.map((x) => ({ ...x, at: new Date(x.at).toISOString() })) } : {}),
      }));
      return;
    }
    const group = withConversation && e.conversation.startsWith("#") ? `${e.conversation} ` : "";
    const to = withConversation && e.direction === "out" && group === "" ? ` → ${e.conversation}` : "";
    const who = `${e.direction === "out" ? "me" : e.warning === undefined ? e.from : `⚠ ${e.from}`}${to}`;
    const body = e.type === "text"
      ? printable(e.text)
      : `${e.direction === "out" ? "sent" : "received"} a file: ${printable(e.text)} (${formatSize(e.file?.size ?? 0)})${e.file?.path ? ` ${e.direction === "out" ? "from" : "saved to"} ${printable(e.file.path)}` : ""}`;
    const marks = e.direction !== "out" ? "" : e.receipts === undefined ? `  (${e.status ?? "sent"})` : receiptsLine(e.receipts);
    this.out(`[${dateTime(e.at)}] ${group}${printable(who)}: ${body}${marks}`);
  }

  /** A send the edge accepted: silent for humans on the command line, "sent" in the shell. */
  sent(r: { id: string; to: string }, inShell: boolean): void {
    if (this.json) this.out(JSON.stringify({ id: r.id, to: r.to, status: "accepted" }));
    else if (inShell) this.out("sent");
  }

  /** A group send the edge accepted. */
  groupSent(r: { id: string; group: string }, inShell: boolean): void {
    if (this.json) this.out(JSON.stringify({ id: r.id, group: r.group, status: "accepted" }));
    else if (inShell) this.out("sent");
  }

  notice(n: Notice): void {
    switch (n.kind) {
      case "identity-changed":
        return this.warn(
          "IDENTITY_CHANGED",
          `⚠ the identity key of ${n.user} has changed: nothing is sent to them until you compare safety numbers (natter verify ${n.user}) and accept it (natter trust ${n.user})`,
          { user: n.user },
        );
      case "undecryptable":
        return n.group === undefined
          ? this.warn("DECRYPT_FAILED", `could not decrypt a message from ${n.user}`, { from: n.user, id: n.id })
          : this.warn("DECRYPT_FAILED", `could not decrypt a group message from ${n.user} in #${n.group}`, { from: n.user, group: n.group, id: n.id });
      case "file-failed":
        return this.warn(n.code, `${n.reason} (a file from ${n.user}${n.group === undefined ? "" : ` in #${n.group}`})`, {
          from: n.user, ...(n.group === undefined ? {} : { group: n.group }), id: n.id,
        });
      case "group-warning":
        return this.warn("GROUP_CHAIN", `⚠ ${n.text}`, { group: n.group });
      case "not-kept":
        return this.warn("NOT_KEPT", `a message was sent but could not be kept in history: ${n.reason}`, { id: n.id });
      case "unsupported":
        return this.warn("UNSUPPORTED", `${n.user} sent a message this version of natter cannot show (one of you needs to upgrade natter)`, { from: n.user, id: n.id });
    }
  }

  /**
   * The safety number with a contact and how far it is trusted; with a change waiting,
   * the pinned number and the new one, and the commands that settle it.
   */
  safetyNumber(v: SafetyNumberView, marked = false): void {
    const json = { user: v.user, userId: v.userId, state: v.state, safetyNumber: v.safetyNumber, ...(v.newSafetyNumber ? { newSafetyNumber: v.newSafetyNumber } : {}) };
    if (v.newSafetyNumber !== undefined) {
      return this.result(
        [
          `⚠ the identity key of ${v.user} has changed (state: changed)`,
          `safety number you trusted:\n  ${v.safetyNumber}`,
          `new safety number:\n  ${v.newSafetyNumber}`,
          `compare the new one with the one ${v.user} sees (natter verify) in person or on a call; if they match, accept it: natter trust ${v.user}`,
        ].join("\n"),
        json,
      );
    }
    const next = v.state === "verified"
      ? marked ? "recorded as verified" : "you have verified it"
      : `compare it with the one ${v.user} sees (natter verify) in person or on a call, then record it: natter verify ${v.user} --mark-verified`;
    this.result(`safety number with ${v.user} (${v.state}):\n  ${v.safetyNumber}\n${next}`, json);
  }

  /** What `natter trust` did: both safety numbers, or that nothing was waiting. */
  trusted(r: { user: string; userId: string; changed: boolean; before: string; after: string }): void {
    const json = { user: r.user, userId: r.userId, accepted: r.changed, previousSafetyNumber: r.before, safetyNumber: r.after };
    if (!r.changed) return this.result(`nothing to accept: the identity key of ${r.user} is the one you trust`, json);
    this.result(
      [
        `safety number you trusted with ${r.user}:\n  ${r.before}`,
        `safety number from now on:\n  ${r.after}`,
        `accepted the new identity key of ${r.user}; compare the new number with them and record it: natter verify ${r.user} --mark-verified`,
      ].join("\n"),
      json,
    );
  }

  /** A result: a sentence for humans, an object for scripts. */
  result(text: string, json: Record<string, unknown>): void {
    this.out(this.json ? JSON.stringify(json) : text);
  }

  /** A state change worth telling scripts too: a line on stderr for humans, an object on stdout in --json. */
  state(text: string, json: Record<string, unknown>): void {
    if (this.json) this.out(JSON.stringify(json));
    else this.err(text);
  }

  /** Progress for humans only (nothing in --json). */
  status(text: string): void {
    if (!this.json) this.err(text);
  }

  /** A failure: `natter: <sentence>`, or `{"error":code,"message":…}`. */
  error(err: unknown): void {
    const { code, message } = describeError(err);
    // "Sorry, no services available" is the seeds' exact line, kept for scripts that look for it.
    this.err(this.json ? JSON.stringify({ error: code, message }) : code === "NO_SERVICE" ? message : `natter: ${message}`);
  }

  private warn(code: string, message: string, extra: Record<string, unknown>): void {
    this.err(this.json ? JSON.stringify({ warning: code, message, ...extra }) : message);
  }
}

/** What a warning on a shown message says beside the sender. */
const SENDER_WARNINGS = {
  IDENTITY_CHANGED: "new identity key, not trusted yet: natter verify, then natter trust",
  NAME_CLAIMED: "not your contact of that name: an unknown account using it",
} as const;

function describeEvent(e: ShownEvent): string {
  const by = e.by ?? e.user;
  switch (e.event) {
    case "created": return `${by} created the group`;
    case "joined": return `${e.user} joined`;
    case "added": return `${by} added ${e.user}`;
    case "left": return `${e.user} left`;
    case "removed": return `${by} removed ${e.user}`;
    case "admin": return e.by ? `${e.by} made ${e.user} an admin` : `${e.user} is now an admin`;
    case "closed": return `${by} closed the group`;
  }
}

/** 1.5 MiB, 300 B. */
export function formatSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let n = bytes;
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${n.toFixed(n < 10 ? 1 : 0)} ${units[u]}`;
}

/** A group message's receipts: who it was delivered to and who read it. */
function receiptsLine(receipts: ReadonlyArray<{ user: string; kind: string }>): string {
  const read = receipts.filter((r) => r.kind === "read").map((r) => r.user);
  const delivered = receipts.filter((r) => r.kind === "delivered" && !read.includes(r.user)).map((r) => r.user);
  const parts = [...(delivered.length ? [`delivered to ${delivered.join(", ")}`] : []), ...(read.length ? [`read by ${read.join(", ")}`] : [])];
  return `  (${parts.length ? parts.join("; ") : "sent"})`;
}

/** yyyy-mm-dd hh:mm in local time. */
export function dateTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")} ${clock(ms)}`;
}

/** hh:mm in local time. */
export function clock(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

/**
 * Message text is the sender's: control characters (terminal escapes, carriage returns)
 * and bidirectional overrides are shown as \u{…}, so no message can repaint the screen or
 * forge another line's sender.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069]/g, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}
