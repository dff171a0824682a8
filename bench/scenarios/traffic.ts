/** Runs a traffic phase on every worker at once and adds their results up. */
import type { TrafficOptions, TrafficResult } from "../load/traffic.ts";
import { merge, percentiles, sum, type Percentiles } from "../lib/stats.ts";
import type { WorkerPool } from "../lib/workers.ts";

export interface TrafficTotals {
  /** Deliveries a second in the measured window, all workers together. */
  deliveredPerS: number;
  acceptedPerS: number;
  lost: number;
  duplicates: number;
  errors: Record<string, number>;
  latency: Percentiles;
}

export async function trafficEverywhere(pool: WorkerPool, set: string, options: TrafficOptions, ratePerLink?: (worker: number) => number | undefined): Promise<TrafficTotals> {
  const timeout = options.warmupMs + options.durationMs + options.drainMs + 60_000;
  const results = await pool.all<TrafficResult>("trafficRun", (i) => {
    const rate = ratePerLink?.(i);
    return { set, ...options, ...(rate === undefined ? {} : { ratePerLink: rate }) };
  }, timeout);
  const errors: Record<string, number> = {};
  for (const r of results) for (const [code, n] of Object.entries(r.errors)) errors[code] = (errors[code] ?? 0) + n;
  const seconds = options.durationMs / 1000;
  return {
    deliveredPerS: sum(results.map((r) => r.delivered)) / seconds,
    acceptedPerS: sum(results.map((r) => r.accepted)) / seconds,
    lost: sum(results.map((r) => r.lost)),
    duplicates: sum(results.map((r) => r.duplicates)),
    errors,
    latency: percentiles(merge(results.map((r) => r.latencies))),
  };
}

/**
 * Saturated phases of natter and its baseline, run natter, baseline, baseline, natter: a
 * phase can leave work behind on the NATS server (a stream cleaning up what was acked)
 * that slows whatever runs next, so each side goes first once, and its better run counts.
 * Loss and errors add up over both runs.
 */
export async function saturatedPair(pool: WorkerPool, options: TrafficOptions): Promise<{ natter: TrafficTotals; baseline: TrafficTotals; note: string }> {
  const natter1 = await trafficEverywhere(pool, "natter", options);
  const base1 = await trafficEverywhere(pool, "baseline", options);
  const base2 = await trafficEverywhere(pool, "baseline", options);
  const natter2 = await trafficEverywhere(pool, "natter", options);
  const rate = (t: TrafficTotals) => Math.round(t.deliveredPerS).toLocaleString("en-US");
  return {
    natter: better(natter1, natter2),
    baseline: better(base1, base2),
    note: `better of two runs each, in the order natter ${rate(natter1)}, baseline ${rate(base1)}, baseline ${rate(base2)}, natter ${rate(natter2)} /s`,
  };
}

function better(a: TrafficTotals, b: TrafficTotals): TrafficTotals {
  const best = a.deliveredPerS >= b.deliveredPerS ? a : b;
  const errors: Record<string, number> = { ...a.errors };
  for (const [code, n] of Object.entries(b.errors)) errors[code] = (errors[code] ?? 0) + n;
  return { ...best, lost: a.lost + b.lost, duplicates: a.duplicates + b.duplicates, errors };
}

/** A percentile, or null when nothing was timed. */
export function pct(t: TrafficTotals, key: "p50" | "p99" | "p999"): number | null {
  return t.latency.count > 0 ? t.latency[key] : null;
}

/** A short account of anything that went wrong in a phase, or undefined. */
export function trouble(label: string, t: TrafficTotals): string | undefined {
  const parts: string[] = [];
  if (t.lost) parts.push(`${t.lost} lost`);
  if (t.duplicates) parts.push(`${t.duplicates} duplicates`);
  const errors = Object.entries(t.errors).map(([code, n]) => `${code} ×${n}`);
  if (errors.length) parts.push(`errors ${errors.join(", ")}`);
  return parts.length ? `${label}: ${parts.join("; ")}` : undefined;
}

export function notes(...parts: Array<string | undefined>): string | undefined {
  const kept = parts.filter(Boolean);
  return kept.length ? kept.join("; ") : undefined;
}
