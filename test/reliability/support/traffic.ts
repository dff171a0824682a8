/**
 * Real `natter` traffic and its ledger: one-shot sends (texts and files, one to one and to a
 * group) as a user or a script makes them, checked against what each user's long-running
 * `natter listen` printed. Senders, listeners and the ledger share one file because
 * each check reads all three.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { natter, type Listener } from "../../support/cli.ts";
import { sleep } from "./net.ts";

export interface User {
  name: string;
  home: string;
  /** Where this user's listener saves files. */
  downloads: string;
  /** The `natter listen` that runs for the whole scenario (none for a user who only sends). */
  listener?: Listener;
}

export type Kind = "direct" | "file" | "group" | "group-file";

/** One run of a sending command. */
export interface Attempt {
  seq: number;
  kind: Kind;
  from: User;
  /** A username, or the group's name. */
  to: string;
  /** The text sent, or the file's name: unique to this attempt, so the receivers' lines are found by it. */
  label: string;
  file?: { path: string; size: number; sha256: string };
  /** What was going on when it started (a fault's name, "baseline", "retries"). */
  phase: string;
  startedAt: number;
  ms?: number;
  code?: number | null;
  /** The message id the command printed. */
  id?: string;
  /** It exited 0 with status "accepted". */
  accepted: boolean;
  /** The last line of stderr when it failed. */
  error?: string;
  /** A resend, as a user would make it, of a send that failed. */
  retryOf?: number;
  /** A later attempt re-did this one. */
  retried?: boolean;
  /** Sent to time a recovery. */
  probe?: boolean;
  /** When each recipient's listener first showed it (ms since epoch), as seen by polling. */
  shownAt: Record<string, number>;
}

export interface Counts {
  sent: number;
  accepted: number;
  /** Sends that exited non-zero (during a fault); each was sent again afterwards. */
  failed: number;
  /** Resends of failed sends (included in `sent`). */
  retries: number;
  /** Accepted messages that every recipient's listener showed. */
  delivered: number;
  /** Accepted messages some recipient never showed. */
  lost: number;
  /** Messages (accepted or not) some listener showed more than once, plus ids shown twice. */
  duplicated: number;
  /** Failed sends that were stored after all and shown (once): the user's resend makes a second message. */
  failedButDelivered: number;
  /** Copies: one per accepted message and recipient. */
  copiesExpected: number;
  copiesShown: number;
}

const SEND_TIMEOUT_MS = 45_000;
const KINDS: readonly Kind[] = ["direct", "group", "direct", "file", "direct", "group", "direct", "group-file"];

export class Traffic {
  readonly attempts: Attempt[] = [];
  phase = "baseline";
  private seq = 0;
  private readonly busy = new Set<string>();
  private readonly files: string;

  constructor(private readonly opts: {
    /** Users who listen and take part in the background load. */
    users: User[];
    group: { name: string; members: User[] };
    servers: () => string;
    work: string;
    /** Tag in every text, so two scenarios' texts never mix. */
    tag: string;
  }) {
    this.files = join(opts.work, "outgoing");
    mkdirSync(this.files, { recursive: true });
  }

  /** Runs one sending command and records it. */
  async send(kind: Kind, from: User, to: string, extra: { probe?: boolean; retryOf?: number } = {}): Promise<Attempt> {
    const seq = ++this.seq;
    const label = kind === "file" || kind === "group-file"
      ? `${this.opts.tag}-${seq}.bin`
      : `${this.opts.tag} #${seq} ${from.name}→${to}${extra.probe ? " probe" : ""}${extra.retryOf ? ` (resend of #${extra.retryOf})` : ""}`;
    const a: Attempt = { seq, kind, from, to, label, phase: this.phase, startedAt: Date.now(), accepted: false, shownAt: {}, ...extra };
    if (kind === "file" || kind === "group-file") {
      // Mostly one chunk; every third file spans two chunks of 256 KiB.
      const size = seq % 3 === 0 ? 300 * 1024 : 24 * 1024 + (seq % 7);
      const data = randomBytes(size);
      const path = join(this.files, label);
      writeFileSync(path, data);
      a.file = { path, size, sha256: createHash("sha256").update(data).digest("hex") };
    }
    this.attempts.push(a);
    const args = kind === "direct" ? ["send", to, label]
      : kind === "file" ? ["send", to, "--file", a.file!.path]
      : kind === "group" ? ["group", "send", to, label]
      : ["group", "send", to, "--file", a.file!.path];
    const result = await natter(from.home, this.opts.servers(), args, { timeoutMs: SEND_TIMEOUT_MS });
    a.ms = Date.now() - a.startedAt;
    a.code = result.code;
    const line = result.json.find((l) => l["status"] === "accepted");
    a.accepted = result.code === 0 && line !== undefined;
    if (line) a.id = String(line["id"]);
    if (!a.accepted) a.error = result.stderr.trim().split("\n").pop() ?? `exit ${String(result.code)}`;
    return a;
  }

  /** Whose listeners must show it: the addressee, or every listening member but the sender. */
  recipients(a: Attempt): User[] {
    if (a.kind === "direct" || a.kind === "file") return this.opts.users.filter((u) => u.name === a.to && u.listener);
    return this.opts.group.members.filter((u) => u.name !== a.from.name && u.listener);
  }

  /** The lines of `user`'s listener that show `a`. */
  shown(a: Attempt, user: User): Array<Record<string, unknown>> {
    const group = a.kind === "group" || a.kind === "group-file" ? a.to : undefined;
    return (user.listener?.lines ?? []).filter((l) => l["from"] === a.from.name && l["group"] === group && (
      a.file ? l["type"] === "file" && (l["file"] as { name?: unknown } | undefined)?.name === a.label : l["type"] === "text" && l["text"] === a.label
    ));
  }

  delivered(a: Attempt): boolean {
    return this.recipients(a).every((u) => this.shown(a, u).length > 0);
  }

  /** Notes, every 100 ms, when each recipient first shows each message; returns the stopper. */
  watch(): () => void {
    const timer = setInterval(() => {
      const now = Date.now();
      for (const a of this.attempts) {
        for (const u of this.recipients(a)) {
          if (a.shownAt[u.name] === undefined && this.shown(a, u).length > 0) a.shownAt[u.name] = now;
        }
      }
    }, 100);
    return () => clearInterval(timer);
  }

  /** From a send's start to the last recipient showing it; undefined while someone has not. */
  latency(a: Attempt): number | undefined {
    const times = this.recipients(a).map((u) => a.shownAt[u.name]);
    if (times.some((t) => t === undefined)) return undefined;
    return Math.max(a.startedAt, ...(times as number[])) - a.startedAt;
  }

  /**
   * Background load until `stop()`: `workers` loops, each taking a listening user that no
   * other loop is using (one command per home at a time, like a person) and sending the
   * next kind of message — to the next user, or to the group.
   */
  startLoad(workers = 2): { stop(): Promise<void> } {
    let stopped = false;
    let turn = 0;
    let pick = 0;
    const { users, group } = this.opts;
    const next = (): User | undefined => {
      for (let i = 0; i < users.length; i++) {
        const u = users[(turn + i) % users.length]!;
        if (this.busy.has(u.name)) continue;
        turn = (turn + i + 1) % users.length;
        return u;
      }
      return undefined;
    };
    const loop = async (): Promise<void> => {
      while (!stopped) {
        const from = next();
        if (!from) {
          await sleep(50);
          continue;
        }
        this.busy.add(from.name);
        try {
          const n = pick++;
          const kind = KINDS[n % KINDS.length]!;
          const others = users.filter((u) => u !== from);
          const to = kind === "group" || kind === "group-file" ? group.name : others[n % others.length]!.name;
          await this.send(kind, from, to);
        } finally {
          this.busy.delete(from.name);
        }
        await sleep(100);
      }
    };
    const running = Array.from({ length: workers }, () => loop());
    return {
      async stop() {
        stopped = true;
        await Promise.all(running);
      },
    };
  }

  /**
   * Sends from `from` until a send is accepted and shown by its recipients; returns the
   * milliseconds from `since` to the moment it was shown. Failed probes count as failed
   * sends that were retried.
   */
  async probe(kind: "direct" | "group", from: User, to: string, since: number, timeoutMs = 90_000): Promise<number> {
    const deadline = since + timeoutMs;
    while (Date.now() < deadline) {
      const a = await this.send(kind, from, to, { probe: true });
      if (!a.accepted) {
        a.retried = true;
        await sleep(250);
        continue;
      }
      while (Date.now() < deadline) {
        if (this.delivered(a)) return Date.now() - since;
        await sleep(100);
      }
    }
    throw new Error(`no ${kind} message from ${from.name} to ${to} got through within ${timeoutMs} ms of the fault's end`);
  }

  /** Sends again, as a user would, every send that failed and was not sent again yet (up to 3 tries each). */
  async resendFailed(): Promise<void> {
    for (const a of this.attempts.filter((x) => !x.accepted && !x.retried)) {
      a.retried = true;
      for (let i = 0; i < 3; i++) {
        const again = await this.send(a.kind, a.from, a.to, { retryOf: a.seq });
        if (again.accepted) break;
        again.retried = true;
        await sleep(1000);
      }
    }
  }

  /** Waits until every accepted message is shown by all its recipients, or `timeoutMs` passes. */
  async settle(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && this.attempts.some((a) => a.accepted && !this.delivered(a))) await sleep(250);
    // Anything shown twice shows within moments of the first.
    await sleep(1500);
  }

  counts(): Counts {
    const c: Counts = { sent: 0, accepted: 0, failed: 0, retries: 0, delivered: 0, lost: 0, duplicated: 0, failedButDelivered: 0, copiesExpected: 0, copiesShown: 0 };
    for (const a of this.attempts) {
      c.sent++;
      if (a.retryOf !== undefined) c.retries++;
      const shown = this.recipients(a).map((u) => this.shown(a, u).length);
      if (shown.some((n) => n > 1)) c.duplicated++;
      if (a.accepted) {
        c.accepted++;
        c.copiesExpected += shown.length;
        c.copiesShown += shown.filter((n) => n > 0).length;
        if (shown.every((n) => n > 0)) c.delivered++;
        else c.lost++;
      } else {
        c.failed++;
        if (shown.some((n) => n > 0)) c.failedButDelivered++;
      }
    }
    for (const u of this.opts.users) c.duplicated += duplicateIds(u.listener?.lines ?? []).length;
    return c;
  }

  /** Human-readable problems: lost copies, duplicates, files that differ from what was sent. */
  async problems(): Promise<string[]> {
    const out: string[] = [];
    for (const a of this.attempts) {
      for (const u of this.recipients(a)) {
        const lines = this.shown(a, u);
        if (lines.length > 1) out.push(`#${a.seq} (${a.kind}, ${a.phase}) shown ${lines.length} times to ${u.name}`);
        if (a.accepted && lines.length === 0) out.push(`#${a.seq} (${a.kind} ${a.from.name}→${a.to}, ${a.phase}, id ${a.id}) accepted but never shown to ${u.name}`);
        if (a.accepted && lines[0] && a.id !== undefined && lines[0]["id"] !== a.id) out.push(`#${a.seq} shown to ${u.name} under id ${String(lines[0]["id"])}, sent as ${a.id}`);
        if (a.file && lines[0]) {
          const saved = lines[0]["file"] as { path: string; size: number };
          const sha = await readFile(saved.path).then((b) => createHash("sha256").update(b).digest("hex"), () => "unreadable");
          if (sha !== a.file.sha256 || saved.size !== a.file.size) out.push(`#${a.seq} file ${a.label} saved by ${u.name} differs from what was sent`);
        }
      }
    }
    for (const u of this.opts.users) {
      for (const id of duplicateIds(u.listener?.lines ?? [])) out.push(`${u.name}'s listener showed id ${id} more than once`);
    }
    return out;
  }
}

function duplicateIds(lines: Array<Record<string, unknown>>): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const l of lines) {
    if (l["type"] !== "text" && l["type"] !== "file") continue;
    const id = String(l["id"]);
    if (seen.has(id)) twice.add(id);
    seen.add(id);
  }
  return [...twice];
}
