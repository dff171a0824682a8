import { describeError } from "./errors.ts";
import type { Notice, ShownMessage } from "./messenger.ts";

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

  message(m: ShownMessage): void {
    if (this.json) {
      this.out(JSON.stringify({ id: m.id, from: m.from, type: "text", text: m.text, sentAt: new Date(m.sentAt).toISOString() }));
    } else {
      this.out(`[${clock(m.sentAt)}] ${m.from}: ${printable(m.text)}`);
    }
  }

  /** A send the edge accepted: silent for humans on the command line, "sent" in the shell. */
  sent(r: { id: string; to: string }, inShell: boolean): void {
    if (this.json) this.out(JSON.stringify({ id: r.id, to: r.to, status: "accepted" }));
    else if (inShell) this.out("sent");
  }

  notice(n: Notice): void {
    switch (n.kind) {
      case "identity-changed":
        return this.warn("IDENTITY_CHANGED", `⚠ the safety number with ${n.user} has changed`, { user: n.user });
      case "undecryptable":
        return this.warn("DECRYPT_FAILED", `could not decrypt a message from ${n.user}`, { from: n.user, id: n.id });
      case "unsupported":
        return this.warn("UNSUPPORTED", `${n.user} sent a message this version of natter cannot show`, { from: n.user, id: n.id });
    }
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
