import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { createPrimitives, type Primitives } from "@natter/crypto";
import { v7 } from "uuid";
import { runCli, type CliDeps } from "../program.ts";
import type { Dialer } from "../transport/connection.ts";

let primitives: Primitives | undefined;
/** One set of primitives for a test run (their key-import caches are shared). */
export function testPrimitives(): Primitives {
  primitives ??= createPrimitives();
  return primitives;
}

export async function tempDir(prefix = "natter-test-"): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}

/** A captured stream: everything written, as text. */
export class Capture extends PassThrough {
  text = "";
  constructor() {
    super();
    this.setEncoding("utf8");
    this.on("data", (s: string) => (this.text += s));
  }

  lines(): string[] {
    return this.text.split("\n").filter((l) => l.length > 0);
  }
}

/** Where an in-process `natter` connects: how it dials, and the edges it is given (NATTER_SERVER). */
export interface Target {
  dial: Dialer;
  server: string;
}

/** A dialer that nobody answers: for commands that must fail or finish before contacting anyone. */
export const nowhere: Target = {
  server: "down:1,down:2",
  dial: async (address) => {
    throw Object.assign(new Error(`connect ECONNREFUSED ${address.host}:${address.port}`), { code: "ECONNREFUSED" });
  },
};

export interface Run {
  code: Promise<number>;
  stdout: Capture;
  stderr: Capture;
  stdin: PassThrough;
  interrupt: AbortController;
}

/** Starts `natter <argv>` in process, connecting to `target`; `now` is its clock (the real one unless given). */
export function start(target: Target, argv: string[], options: { stdin?: string; server?: string; now?: () => number } = {}): Run {
  const stdout = new Capture();
  const stderr = new Capture();
  const stdin = new PassThrough();
  if (options.stdin !== undefined) stdin.end(options.stdin);
  const interrupt = new AbortController();
  const deps: CliDeps = {
    stdout,
    stderr,
    stdin,
    env: { NATTER_SERVER: options.server ?? target.server },
    now: options.now ?? (() => Date.now()),
    random: Math.random,
    newId: () => v7(),
    dial: target.dial,
    primitives: async () => testPrimitives(),
    interrupt: interrupt.signal,
  };
  return { code: runCli(deps, argv), stdout, stderr, stdin, interrupt };
}

/** Runs `natter <argv>` to the end. */
export async function run(
  target: Target,
  argv: string[],
  options: { stdin?: string; server?: string; now?: () => number } = {},
): Promise<{ code: number; out: string; err: string; stdout: string[] }> {
  const r = start(target, argv, { stdin: "", ...options });
  const code = await r.code;
  return { code, out: r.stdout.text, err: r.stderr.text, stdout: r.stdout.lines() };
}

/** Waits until `check` holds (polling), failing after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, ms = 5_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
