/** Runs the real `natter` command as a child process, as a user or a script would. */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

const bin = resolve(import.meta.dirname, "../../clients/cli/bin/natter.js");

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as one JSON object a line. */
  json: Array<Record<string, unknown>>;
}

export function newHome(): string {
  return mkdtempSync(join(tmpdir(), "natter-home-"));
}

export function natter(home: string, servers: string, args: string[], options: { stdin?: string; timeoutMs?: number } = {}): Promise<Result> {
  const child = spawn(process.execPath, [bin, "--home", home, "--server", servers, "--json", ...args], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, NATTER_HOME: "", NATTER_SERVER: "" },
  });
  child.stdin.end(options.stdin ?? "");
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
  return new Promise((done) => {
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr, json: parseLines(stdout) });
    });
  });
}

/** A long-running `natter listen`, collecting what it prints. */
export class Listener {
  readonly lines: Array<Record<string, unknown>> = [];
  readonly stderr: string[] = [];
  readonly child: ChildProcess;
  /** The exit code, once the process has ended. */
  readonly exited: Promise<number | null>;
  private waiters: Array<() => void> = [];

  /** `globalArgs` go before `listen` (e.g. `--download-dir`). */
  constructor(home: string, servers: string, globalArgs: string[] = []) {
    this.child = spawn(process.execPath, [bin, "--home", home, "--server", servers, "--json", ...globalArgs, "listen"], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NATTER_HOME: "", NATTER_SERVER: "" },
    });
    this.exited = new Promise((done) => this.child.once("exit", (code) => done(code)));
    createInterface({ input: this.child.stdout! }).on("line", (line) => {
      const parsed = parseLines(line);
      this.lines.push(...parsed);
      for (const wake of this.waiters.splice(0)) wake();
    });
    createInterface({ input: this.child.stderr! }).on("line", (line) => this.stderr.push(line));
  }

  /** Waits until `count` lines satisfy `match`. */
  async waitFor(match: (line: Record<string, unknown>) => boolean, count = 1, timeoutMs = 30_000): Promise<Array<Record<string, unknown>>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.filter(match);
      if (found.length >= count) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`listener saw ${found.length} of ${count} lines; stderr: ${this.stderr.slice(-5).join(" | ")}`);
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, Math.min(left, 500));
        this.waiters.push(() => { clearTimeout(timer); wake(); });
      });
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGINT");
    await this.exited;
  }
}

function parseLines(text: string): Array<Record<string, unknown>> {
  return text.split("\n").filter((l) => l.trim().startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
}
