/**
 * The load generator's processes. Each worker is a separate Node process (so it never
 * shares an event loop with an edge), started through `sh` so it can raise its own
 * open-file limit to the hard limit, and driven by calls over the IPC channel.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";

const ENTRY = resolve(import.meta.dirname, "../load/worker.ts");
/** No call may run longer than this: every load stops by itself. */
const DEFAULT_CALL_TIMEOUT_MS = 10 * 60_000;

type Reply = { t: "done"; id: number; result: unknown } | { t: "fail"; id: number; error: string };

export class LoadWorker {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  readonly exited: Promise<void>;

  private constructor(readonly index: number, private readonly child: ChildProcess) {
    child.on("message", (reply: Reply) => {
      const call = this.pending.get(reply.id);
      if (!call) return;
      this.pending.delete(reply.id);
      clearTimeout(call.timer);
      if (reply.t === "done") call.resolve(reply.result);
      else call.reject(new Error(`worker ${index}: ${reply.error}`));
    });
    this.exited = new Promise((done) => child.once("exit", () => {
      for (const call of this.pending.values()) {
        clearTimeout(call.timer);
        call.reject(new Error(`worker ${index} exited`));
      }
      this.pending.clear();
      done();
    }));
  }

  /** Starts a worker process running `entry` (by default the bench's load generator). */
  static start(index: number, entry = ENTRY): LoadWorker {
    // Raise the soft open-file limit as far as the hard one allows, then become node.
    const script = 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"';
    const child = spawn("sh", ["-c", script, process.execPath, "--import", "tsx", entry], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "advanced",
      env: { ...process.env, NODE_OPTIONS: "" },
    });
    return new LoadWorker(index, child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Runs handler `fn` in the worker; rejects on its failure or after `timeoutMs`. */
  call<R>(fn: string, args: unknown = {}, timeoutMs = DEFAULT_CALL_TIMEOUT_MS): Promise<R> {
    const id = this.nextId++;
    return new Promise<R>((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`worker ${this.index}: ${fn} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolvePromise as (v: unknown) => void, reject, timer });
      this.child.send({ t: "call", id, fn, args });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.send({ t: "exit" });
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** A set of workers that run the same handler side by side. */
export class WorkerPool {
  private constructor(readonly workers: LoadWorker[]) {}

  static async start(count: number): Promise<WorkerPool> {
    const workers = Array.from({ length: count }, (_, i) => LoadWorker.start(i));
    const pool = new WorkerPool(workers);
    try {
      await pool.all("ping", () => ({}), 60_000);
    } catch (error) {
      await pool.stop();
      throw error;
    }
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  /** Calls `fn` on every worker with its own arguments; resolves with every result. */
  all<R>(fn: string, args: (index: number) => unknown, timeoutMs?: number): Promise<R[]> {
    return Promise.all(this.workers.map((w) => w.call<R>(fn, args(w.index), timeoutMs)));
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
  }
}

/** Deals `items` round-robin into `parts` nearly equal slices. */
export function split<T>(items: readonly T[], parts: number): T[][] {
  const out: T[][] = Array.from({ length: parts }, () => []);
  items.forEach((item, i) => out[i % parts]!.push(item));
  return out;
}

/**
 * The worker's side of LoadWorker: answers the harness's calls with `handlers` over IPC,
 * runs `onExit` (which must end the process) when told to exit, and exits when the harness
 * goes away, so no load outlives it.
 */
export function answerHarness(handlers: Record<string, (args: any) => Promise<unknown>>, onExit: () => void): void {
  process.on("message", (msg: { t: "call"; id: number; fn: string; args: unknown } | { t: "exit" }) => {
    if (msg.t === "exit") return onExit();
    const handler = handlers[msg.fn];
    if (!handler) {
      process.send!({ t: "fail", id: msg.id, error: `no handler ${msg.fn}` });
      return;
    }
    handler(msg.args).then(
      (result) => process.send!({ t: "done", id: msg.id, result }),
      (error: unknown) => process.send!({ t: "fail", id: msg.id, error: error instanceof Error ? error.stack ?? error.message : String(error) }),
    );
  });
  process.on("disconnect", () => process.exit(0));
}
