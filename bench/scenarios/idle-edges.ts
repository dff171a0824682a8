/**
 * Idle connections over several edges: M authenticated devices, receiving (as a client
 * that is online does) and pinging at the CLI's pace, spread evenly over the edges of a
 * stack on a nats-server of the bench's own. Whether all are held (still open after the
 * idle window), what the edges and NATS hold in all and per connection, and the CPU every
 * server process uses while they idle. One process may open only so many files, so edges
 * and load-generator processes are added until each one's share fits.
 */
import { edgesHeap, withOwnStack, type OwnStack } from "../lib/own-stack.ts";
import { meterEach } from "../lib/proc.ts";
import { atLeastRow, atMostRow, type Row } from "../lib/report.ts";
import type { Scenario, ScenarioContext } from "../lib/scenario.ts";
import { KiB, MiB } from "../lib/stats.ts";
import { WorkerPool } from "../lib/workers.ts";
import { EDGE_OWN_FDS } from "./idle.ts";
import { errorList, holdCrowd, releaseCrowd, stillHeld } from "./hold.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Files a load-generator process keeps for itself besides its devices' sockets. */
const WORKER_OWN_FDS = 2000;
/** Every device of a worker is opened (and its inbox asked for) within this. */
const HOLD_TIMEOUT_MS = 60 * 60_000;
/** The size the memory target is set for. */
const TARGET_CONNECTIONS = 100_000;
const TARGET_MIB = 2048;

export const idleEdges: Scenario = {
  name: "idle-edges",
  title: "idle connections spread over several edges",
  async run(ctx) {
    const { connections, edges: fewest } = ctx.profile.idleEdges;
    const edges = Math.max(fewest, Math.ceil(connections / (ctx.fileLimit - EDGE_OWN_FDS)));
    const workers = Math.ceil(connections / (ctx.fileLimit - WORKER_OWN_FDS));
    if (workers <= ctx.pool.size) return withOwnStack(ctx, { bcryptCost: 4, edges }, (own) => measure(ctx, own, ctx.pool));
    ctx.log(`starting ${workers} load-generator processes of this scenario's own (at most ${ctx.fileLimit - WORKER_OWN_FDS} sockets each)`);
    const pool = await WorkerPool.start(workers);
    try {
      return await withOwnStack(ctx, { bcryptCost: 4, edges }, (own) => measure(ctx, own, pool));
    } finally {
      await pool.stop();
    }
  },
};

async function measure(ctx: ScenarioContext, own: OwnStack, pool: WorkerPool): Promise<Row[]> {
  const { idleEdges: { connections }, idle } = ctx.profile;
  const { stack } = own;
  const label = `idle, ${connections.toLocaleString("en-US")} connections over ${stack.edges.length} edges`;
  ctx.log(`${label}: registering the devices`);
  const { creds } = await stack.register(connections, { prefix: "idle" });

  await sleep(idle.settleMs);
  const before = await own.memory();
  ctx.log(`${label}: connecting them from ${pool.size} load-generator processes, receiving`);
  const held = await holdCrowd(pool, stack.edges, creds, { receive: true, pingEveryMs: idle.pingEveryMs, concurrency: 100, timeoutMs: HOLD_TIMEOUT_MS });
  try {
    await sleep(idle.settleMs);
    const after = await own.memory();
    ctx.log(`${label}: idle for ${idle.cpuWindowMs / 1000} s`);
    const cores = meterEach(own.processes());
    await sleep(idle.cpuWindowMs);
    const { cores: idleCores, each } = cores();
    ctx.log(`${label}: idle CPU ${each}`);
    const stayed = await stillHeld(pool);

    const total = after.edges + after.nats;
    const perConnection = (total - before.edges - before.nats) / Math.max(1, held.opened);
    const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;
    const errs = errorList(held.errors);
    const memory: Row = {
      scenario: label, figure: "edges + NATS memory", unit: "MiB", natter: total / MiB,
      note: `edges (RSS after a forced GC, all together) ${mib(before.edges)} → ${mib(after.edges)}; NATS ${mib(before.nats)} → ${mib(after.nats)}; ${edgesHeap(before, after)}`,
    };
    const rows: Row[] = [
      atLeastRow({
        scenario: label, figure: "connections held after the idle window", unit: "", natter: stayed,
        note: `${held.opened} opened in ${(held.ms / 1000).toFixed(1)} s${errs ? `; errors ${errs}` : ""}`,
      }, connections),
      connections >= TARGET_CONNECTIONS ? atMostRow(memory, TARGET_MIB) : memory,
      { scenario: label, figure: "edges + NATS memory per connection", unit: "KiB", natter: perConnection / KiB },
      {
        scenario: label, figure: `idle CPU, every server process (ping every ${idle.pingEveryMs / 1000} s)`, unit: "% core", natter: idleCores * 100,
        note: `auth, group, presence, ${stack.edges.length} edges and the nats-server together, over ${idle.cpuWindowMs / 1000} s`,
      },
    ];
    if (connections < TARGET_CONNECTIONS) {
      rows.push(atMostRow({
        scenario: `idle, ${TARGET_CONNECTIONS.toLocaleString("en-US")} connections over ${stack.edges.length} edges`,
        figure: "edges + NATS memory (projected)", unit: "MiB",
        natter: (before.edges + before.nats + TARGET_CONNECTIONS * perConnection) / MiB,
        note: `projected from ${held.opened} connections here (${(perConnection / KiB).toFixed(1)} KiB each over ${mib(before.edges + before.nats)} before); not measured`,
      }, TARGET_MIB));
    }
    return rows;
  } finally {
    await releaseCrowd(pool);
  }
}
