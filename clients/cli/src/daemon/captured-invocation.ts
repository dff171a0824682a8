import type { History } from "../history.ts";
import type { HomeStore } from "../home-store.ts";
import { Invocation } from "../invocation.ts";
import { Printer } from "../output.ts";

/** One line a Printer wrote in `--json` mode. */
export type JsonLine = Record<string, unknown>;

/** Where a captured line came from: stdout (results, messages) or stderr (warnings, failures). */
export type CapturedStream = "out" | "err";

/**
 * The daemon's invocation seen as a run of a command in `--json` mode whose output is
 * captured instead of written: each request runs its command's action through one (and
 * answers what it printed); the receiver and the messenger print through one that turns
 * each line into a notification. It shares the daemon's home and history.
 */
export class CapturedInvocation extends Invocation {
  override readonly printer: Printer;

  constructor(private readonly daemon: Invocation, capture: (stream: CapturedStream, line: JsonLine) => void) {
    super(daemon.deps, { ...daemon.options, json: true });
    this.printer = new Printer((line) => capture("out", jsonLine(line)), (line) => capture("err", jsonLine(line)), true);
  }

  override home(): Promise<HomeStore> {
    return this.daemon.home();
  }

  override history(): Promise<History> {
    return this.daemon.history();
  }

  /** The daemon's history stays open; the daemon's invocation closes it. */
  override async close(): Promise<void> {}
}

/** A line our own Printer wrote in --json mode: always one JSON object. */
function jsonLine(line: string): JsonLine {
  const value: unknown = JSON.parse(line);
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("invariant broken: a --json line is an object");
  return { ...value };
}
