/** A crowd of authenticated devices held open by every worker at once, spread over a stack's edges. */
import type { Endpoint } from "../load/device.ts";
import type { Cred } from "../load/worker.ts";
import { sum } from "../lib/stats.ts";
import { split, type WorkerPool } from "../lib/workers.ts";

export interface HoldOptions {
  /** Each device asks for its inbox after resuming, as a client that is online does. */
  receive: boolean;
  pingEveryMs: number;
  /** Connections each worker opens at once. */
  concurrency: number;
  timeoutMs?: number;
}

export interface Crowd {
  opened: number;
  /** Time until the slowest worker had opened its share. */
  ms: number;
  errors: Record<string, number>;
}

export async function holdCrowd(pool: WorkerPool, edges: Endpoint[], creds: readonly Cred[], options: HoldOptions): Promise<Crowd> {
  const { timeoutMs, ...hold } = options;
  const perWorker = split(creds, pool.size);
  const held = await pool.all<Crowd>("holdOpen", (i) => ({ edges, creds: perWorker[i], addrOffset: i * 7919, ...hold }), timeoutMs);
  const errors: Record<string, number> = {};
  for (const h of held) for (const [code, n] of Object.entries(h.errors)) errors[code] = (errors[code] ?? 0) + n;
  return { opened: sum(held.map((h) => h.opened)), ms: Math.max(...held.map((h) => h.ms)), errors };
}

/** Held connections still open on every worker. */
export async function stillHeld(pool: WorkerPool): Promise<number> {
  return sum((await pool.all<{ open: number }>("holdCount", () => ({}))).map((h) => h.open));
}

export async function releaseCrowd(pool: WorkerPool): Promise<void> {
  await pool.all("holdClose", () => ({}));
}

/** "CODE ×n, …", or undefined when nothing failed. */
export function errorList(errors: Record<string, number>): string | undefined {
  const parts = Object.entries(errors).map(([code, n]) => `${code} ×${n}`);
  return parts.length ? parts.join(", ") : undefined;
}
