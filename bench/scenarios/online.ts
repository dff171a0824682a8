/**
 * Chat with thousands online: a nats-server of the bench's own and a stack on it; N devices
 * held across both edges, authenticated, receiving and pinging at the CLI's pace. First
 * they idle: CPU of every server process (auth, group, presence, edges, NATS), and what
 * NATS and the edges hold for them. Then, with them still held, the one-to-one scenario's
 * 1:1 chat: saturated (delivered msgs/s, server CPU per delivered message) and at a fixed
 * rate (latency, loss); last, a device that was away comes back to an inbox of waiting
 * messages (the replay scenario's drain, with the crowd online).
 */
import type { Cred } from "../load/worker.ts";
import { meterEach } from "../lib/proc.ts";
import { edgesHeap, withOwnStack, type OwnStack, type ServerMemory } from "../lib/own-stack.ts";
import type { Profile } from "../lib/profiles.ts";
import { atLeastRow, atMostRow, type Row } from "../lib/report.ts";
import type { Scenario, ScenarioContext } from "../lib/scenario.ts";
import { KiB, MiB } from "../lib/stats.ts";
import { split } from "../lib/workers.ts";
import { errorList, holdCrowd, type Crowd, releaseCrowd, stillHeld } from "./hold.ts";
import { drainOnEdge, fillWaiting, missing } from "./replay.ts";
import { notes, pct, trafficEverywhere, trouble } from "./traffic.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const online: Scenario = {
  name: "online",
  title: "chat with thousands online",
  run: (ctx) => withOwnStack(ctx, { bcryptCost: 4 }, (own) => measure(ctx, own)),
};

async function measure(ctx: ScenarioContext, own: OwnStack): Promise<Row[]> {
  const { online: p, idle } = ctx.profile;
  const { stack } = own;
  ctx.log(`registering ${p.devices} devices to hold, ${p.pairs} chat pairs and one that is away`);
  const { creds } = await stack.register(p.devices + 2 * p.pairs + 1, { prefix: "online" });
  const crowd = creds.slice(0, p.devices);
  const pairs = Array.from({ length: p.pairs }, (_, i) => ({ from: creds[p.devices + 2 * i]!, to: creds[p.devices + 2 * i + 1]! }));
  const away = creds.at(-1)!;
  const label = `${p.devices.toLocaleString("en-US")} online`;

  await sleep(idle.settleMs);
  const before = await own.memory();
  ctx.log(`${label}: connecting them across both edges, receiving`);
  const held = await holdCrowd(ctx.pool, stack.edges, crowd, { receive: true, pingEveryMs: idle.pingEveryMs, concurrency: 50 });
  try {
    await sleep(idle.settleMs);
    const after = await own.memory();
    ctx.log(`${label}: idle for ${idle.cpuWindowMs / 1000} s`);
    const idleCores = meterEach(own.processes());
    await sleep(idle.cpuWindowMs);
    const idleCpu = idleCores();
    ctx.log(`${label}: idle CPU ${idleCpu.each}`);
    const idleRows = idleFigures(`${label}, idle`, idle, { wanted: p.devices, held, before, after, cores: idleCpu.cores });

    const chatRows = await chat(ctx, own, pairs, label);

    ctx.log(`${label}: ${p.offline} messages waiting for a device that comes back`);
    await fillWaiting(stack.natsUrl, stack.namespace, away.userId, p.offline, ctx.profile.chat.bodySize);
    const drained = await drainOnEdge(ctx.pool.workers[0]!, stack.edges[0]!, away, p.offline);
    const stayed = await stillHeld(ctx.pool);
    const d = `${label}, ${p.offline.toLocaleString("en-US")} waiting for a device that comes back`;
    return [
      ...idleRows,
      ...chatRows,
      atMostRow({
        scenario: d, figure: "time until all are delivered", unit: "s",
        natter: drained.received === p.offline ? drained.ms / 1000 : null,
        note: notes(missing(drained, p.offline), `${Math.round((drained.received / drained.ms) * 1000).toLocaleString("en-US")} msgs/s; ${stayed} of the ${held.opened} online still connected after the chat and the drain`),
      }, 0.5),
      atMostRow({ scenario: d, figure: "lost", unit: "", natter: p.offline - drained.received }, 0),
    ];
  } finally {
    await releaseCrowd(ctx.pool);
  }
}

interface IdleReadings { wanted: number; held: Crowd; before: ServerMemory; after: ServerMemory; cores: number }

function idleFigures(scenario: string, idle: Profile["idle"], { wanted, held, before, after, cores }: IdleReadings): Row[] {
  const { opened } = held;
  const per = (bytes: number) => bytes / Math.max(1, opened) / KiB;
  const natsGrowth = after.nats - before.nats;
  const edgesGrowth = after.edges - before.edges;
  const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;
  const errs = errorList(held.errors);
  return [
    atMostRow({
      scenario, figure: "NATS memory per connected device", unit: "KiB", natter: per(natsGrowth),
      note: `NATS ${mib(before.nats)} → ${mib(after.nats)} with ${opened} of ${wanted} connected${errs ? `; errors ${errs}` : ""}`,
    }, 4),
    atMostRow({
      scenario, figure: "edges + NATS memory per idle connection", unit: "KiB", natter: per(natsGrowth + edgesGrowth),
      note: `edges (RSS after a forced GC, both together) ${mib(before.edges)} → ${mib(after.edges)}: ${per(edgesGrowth).toFixed(1)} KiB a connection; ${edgesHeap(before, after)}`,
    }, 16),
    atMostRow({
      scenario, figure: "idle CPU, every server process", unit: "% core", natter: cores * 100,
      note: `auth, group, presence, both edges and the nats-server together over ${idle.cpuWindowMs / 1000} s; each device pings every ${idle.pingEveryMs / 1000} s`,
    }, 3),
  ];
}

/** The one-to-one scenario's chat among `pairs`, with the crowd held: saturated, then at the profile's fixed rate. */
async function chat(ctx: ScenarioContext, own: OwnStack, pairs: Array<{ from: Cred; to: Cred }>, label: string): Promise<Row[]> {
  const { online: p, chat: c } = ctx.profile;
  const perWorker = split(pairs, ctx.pool.size);
  ctx.log(`${label}: opening ${p.pairs} chat pairs`);
  await ctx.pool.all("chatOpen", (i) => ({ set: "online", edges: own.stack.edges, pairs: perWorker[i], addrOffset: i * 2 * p.pairs }));
  try {
    const base = { bodySize: c.bodySize, warmupMs: c.warmupMs, durationMs: c.durationMs, drainMs: c.drainMs };
    ctx.log(`${label}: 1:1 saturated, ${p.window} in flight a pair`);
    const running = trafficEverywhere(ctx.pool, "online", { ...base, window: p.window, latency: false });
    // Server CPU over the measured window only: the workers count deliveries from the end of the warm-up.
    await sleep(c.warmupMs);
    const cores = meterEach(own.processes());
    await sleep(c.durationMs);
    const { cores: serverCores, each } = cores();
    const saturated = await running;
    ctx.log(`${label}: saturated, ${Math.round(saturated.deliveredPerS)} msgs/s; CPU ${each}`);

    ctx.log(`${label}: 1:1 at ${p.ratePerS} msgs/s`);
    const fixed = await trafficEverywhere(ctx.pool, "online", { ...base, latency: true }, () => p.ratePerS / p.pairs);

    const s = `${label}, 1:1 saturated (${p.pairs} pairs, ${p.window} in flight each)`;
    const f = `${label}, 1:1 at ${p.ratePerS.toLocaleString("en-US")} msgs/s`;
    return [
      atLeastRow({
        scenario: s, figure: `delivered+acked msgs/s (${c.bodySize} B)`, unit: "/s", natter: saturated.deliveredPerS,
        note: trouble("natter", saturated),
      }, 10_000),
      atMostRow({
        scenario: s, figure: "server CPU per delivered message", unit: "µs",
        natter: saturated.deliveredPerS > 0 ? (serverCores / saturated.deliveredPerS) * 1e6 : null,
        note: `${(serverCores * 100).toFixed(0)} % of a core used by every server process together (auth, group, presence, edges, nats-server) over the ${c.durationMs / 1000} s window`,
      }, 150),
      atMostRow({
        scenario: f, figure: "p50 end-to-end", unit: "ms", natter: pct(fixed, "p50"),
        note: p.ratePerS > saturated.deliveredPerS
          ? `this rate is above the ${Math.round(saturated.deliveredPerS)} msgs/s sustained saturated in this run: its latency here is queueing`
          : undefined,
      }, 2),
      atMostRow({ scenario: f, figure: "p99 end-to-end", unit: "ms", natter: pct(fixed, "p99") }, 10),
      atMostRow({ scenario: f, figure: "p99.9 end-to-end", unit: "ms", natter: pct(fixed, "p999") }, 25),
      atMostRow({
        scenario: f, figure: "lost", unit: "", natter: fixed.lost,
        note: notes(trouble("natter", fixed), `${fixed.latency.count} messages timed`),
      }, 0),
    ];
  } finally {
    await ctx.pool.all("trafficClose", () => ({ set: "online" }));
  }
}
