/**
 * Idle connections: N authenticated devices held open on ONE edge, each pinging at the
 * CLI's keepalive pace. Edge RSS per connection (VmRSS after − before, over N) and the
 * edge's CPU while they idle. Baseline: a bare Node `net` server holding the same
 * sockets and answering the same pings. Sizes past what one process may open (its
 * open-file limit) are reported as not reachable here, with a projection.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import type { Endpoint } from "../load/device.ts";
import type { Cred } from "../load/worker.ts";
import type { HeldMemory } from "../lib/bench-stack.ts";
import { CpuMeter } from "../lib/proc.ts";
import { atMostRow, type Row } from "../lib/report.ts";
import type { Scenario, ScenarioContext } from "../lib/scenario.ts";
import { KiB, MiB, sum } from "../lib/stats.ts";
import { split } from "../lib/workers.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** File descriptors an edge needs besides its clients (NATS, stdio, listeners, …). */
export const EDGE_OWN_FDS = 200;
const GiB = 1024 * MiB;

interface Held { opened: number; errors: Record<string, number>; ms: number }

/**
 * Opens `creds` on `to` across the workers and measures the server's memory (after a
 * forced collection, so garbage is not counted) before and after; then idles and meters CPU.
 */
async function holdAndMeasure(ctx: ScenarioContext, pid: number, memory: () => Promise<HeldMemory>, to: Endpoint, creds: Cred[]) {
  const { idle } = ctx.profile;
  await sleep(idle.settleMs);
  const before = await memory();
  const perWorker = split(creds, ctx.pool.size);
  const held = await ctx.pool.all<Held>("holdOpen", (i) => ({
    edges: [to], creds: perWorker[i], addrOffset: i * 7919, concurrency: 200, pingEveryMs: idle.pingEveryMs, receive: false,
  }));
  const opened = sum(held.map((h) => h.opened));
  const openMs = Math.max(...held.map((h) => h.ms));
  await sleep(idle.settleMs);
  const after = await memory();
  const cpu = new CpuMeter(pid);
  await sleep(idle.cpuWindowMs);
  const cores = cpu.cores();
  await ctx.pool.all("holdClose", () => ({}));
  const errors: Record<string, number> = {};
  for (const h of held) for (const [code, n] of Object.entries(h.errors)) errors[code] = (errors[code] ?? 0) + n;
  return { before, after, opened, openMs, cores, errors };
}

async function startRawServer(): Promise<{ pid: number; endpoint: Endpoint; memory(): Promise<HeldMemory>; stop(): Promise<void> }> {
  const entry = resolve(import.meta.dirname, "../load/raw-server.ts");
  const child = spawn("sh", ["-c", 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', process.execPath, "--import", "tsx", entry], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  const lines = createInterface({ input: child.stdout! });
  const [line] = (await once(lines, "line")) as [string];
  const { port } = JSON.parse(line) as { port: number };
  return {
    pid: child.pid!,
    endpoint: { host: "127.0.0.1", port },
    async memory() {
      const reply = new Promise<string>((resolve) => {
        const onLine = (l: string) => {
          if (!l.startsWith("BENCHGC ")) return;
          lines.off("line", onLine);
          resolve(l.slice(8));
        };
        lines.on("line", onLine);
      });
      child.kill("SIGUSR2");
      return JSON.parse(await reply) as HeldMemory;
    },
    async stop() {
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}

export const idle: Scenario = {
  name: "idle",
  title: "idle authenticated connections on one edge",
  async run(ctx) {
    const { idle: p } = ctx.profile;
    const stack = await ctx.main();
    const capacity = ctx.fileLimit - EDGE_OWN_FDS;
    const workerCapacity = ctx.pool.size * (ctx.fileLimit - 100);
    const rows: Row[] = [];
    let perConnection: number | undefined;
    let baseRss = 0;

    for (const size of p.sizes) {
      const label = `idle, ${size.toLocaleString("en-US")} connections on one edge`;
      if (size > capacity || size > workerCapacity) {
        rows.push({
          scenario: label, figure: "edge RSS per connection", unit: "KiB", natter: null, target: "≤ 8 KiB", met: null,
          note: `not reachable here: one process may open ${ctx.fileLimit} files (hard limit, not raisable without privileges), so one edge holds at most ~${capacity}`,
        });
        continue;
      }
      const creds = await ctx.devices(size);
      // A fresh edge, so what earlier scenarios left in its heap does not hide the growth.
      ctx.log(`${label}: restarting edge 1 for a clean process`);
      stack.stack.edges[0]!.child.kill("SIGTERM");
      await stack.stack.edges[0]!.exited;
      await stack.stack.restartEdge(0);
      const edgePid = stack.pid(0);

      ctx.log(`${label}: natter`);
      const n = await holdAndMeasure(ctx, edgePid, () => stack.collect(0), stack.edges[0]!, creds);
      ctx.log(`${label}: raw net server`);
      const raw = await startRawServer();
      let b: Awaited<ReturnType<typeof holdAndMeasure>>;
      try {
        b = await holdAndMeasure(ctx, raw.pid, () => raw.memory(), raw.endpoint, creds);
      } finally {
        await raw.stop();
      }
      perConnection = (n.after.rss - n.before.rss) / Math.max(1, n.opened);
      baseRss = n.before.rss;
      const heapPer = (n.after.heapUsed + n.after.external - n.before.heapUsed - n.before.external) / Math.max(1, n.opened);
      const failed = size - n.opened;
      const errs = Object.entries(n.errors).map(([c, k]) => `${c} ×${k}`).join(", ");
      rows.push(
        atMostRow({
          scenario: label, figure: "edge RSS per connection", unit: "KiB",
          natter: perConnection / KiB, baseline: (b.after.rss - b.before.rss) / Math.max(1, b.opened) / KiB,
          note: `after a forced GC, edge RSS ${(n.before.rss / MiB).toFixed(0)} → ${(n.after.rss / MiB).toFixed(0)} MiB` +
            ` (JS heap + external ${(heapPer / KiB).toFixed(1)} KiB a connection); ${n.opened} open after ${(n.openMs / 1000).toFixed(1)} s` +
            `${failed ? `; ${failed} failed (${errs})` : ""}`,
        }, 8),
        {
          scenario: label, figure: `heartbeat CPU (ping every ${p.pingEveryMs / 1000} s)`, unit: "% core",
          natter: n.cores * 100, baseline: b.cores * 100,
          note: `over ${p.cpuWindowMs / 1000} s; the edge also heartbeats its load to presence every 2 s`,
        },
      );
    }
    if (perConnection !== undefined) {
      const projected = baseRss + 100_000 * perConnection;
      const measured = p.sizes.includes(100_000) && rows.some((r) => r.scenario.startsWith("idle, 100,000") && r.natter !== null);
      rows.push(atMostRow({
        scenario: "idle, 100,000 on one edge", figure: measured ? "edge RSS" : "edge RSS (projected)", unit: "MiB",
        natter: projected / MiB,
        note: measured ? undefined : `projected from the largest size measured here (${(perConnection / KiB).toFixed(1)} KiB a connection over a ${(baseRss / MiB).toFixed(0)} MiB edge); not measured`,
      }, GiB / MiB));
    }
    return rows;
  },
};
