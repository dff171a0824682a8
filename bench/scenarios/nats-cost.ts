/**
 * What natter costs the NATS server: a nats-server of the bench's own (so /varz reads
 * only natter's load), a stack against it; server memory before, after registering R
 * devices, after connecting C of them (authenticated and receiving: a durable consumer
 * and two subscriptions each), and after they leave.
 */
import { startBenchStack } from "../lib/bench-stack.ts";
import { startOwnNats } from "../lib/nats-server.ts";
import type { Row } from "../lib/report.ts";
import type { Scenario } from "../lib/scenario.ts";
import { KiB, MiB, sum } from "../lib/stats.ts";
import { split } from "../lib/workers.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const natsCost: Scenario = {
  name: "nats-cost",
  title: "NATS server memory: registered vs connected devices",
  async run(ctx) {
    const { natsCost: p } = ctx.profile;
    ctx.log("starting a nats-server of our own");
    const nats = await startOwnNats();
    try {
      const stack = await startBenchStack({ bcryptCost: 4, natsUrl: nats.url });
      try {
        await sleep(p.settleMs);
        const idle = await nats.varz();
        ctx.log(`registering ${p.registered} devices`);
        const { creds, ms } = await stack.register(p.registered, { prefix: "cost" });
        await sleep(p.settleMs);
        const registered = await nats.varz();
        ctx.log(`connecting ${p.connected} of them, receiving`);
        const perWorker = split(creds.slice(0, p.connected), ctx.pool.size);
        const held = await ctx.pool.all<{ opened: number; errors: Record<string, number> }>("holdOpen", (i) => ({
          edges: stack.edges, creds: perWorker[i], addrOffset: i * 7919, concurrency: 50, pingEveryMs: 0, receive: true,
        }));
        const opened = sum(held.map((h) => h.opened));
        await sleep(p.settleMs);
        const connected = await nats.varz();
        const js = await nats.jsz();
        await ctx.pool.all("holdClose", () => ({}));
        await sleep(p.settleMs);
        const left = await nats.varz();
        const jsLeft = await nats.jsz();

        const perRegistered = (registered.mem - idle.mem) / p.registered;
        const perConnected = (connected.mem - registered.mem) / Math.max(1, opened);
        const label = `NATS cost, ${p.registered.toLocaleString("en-US")} registered / ${p.connected.toLocaleString("en-US")} connected`;
        const errors: Record<string, number> = {};
        for (const h of held) for (const [code, n] of Object.entries(h.errors)) errors[code] = (errors[code] ?? 0) + n;
        const errs = Object.entries(errors).map(([c, n]) => `${c} ×${n}`).join(", ");
        const rows: Row[] = [
          {
            scenario: label, figure: "server memory per registered device", unit: "KiB", natter: perRegistered / KiB,
            target: "≪ per connected", met: perRegistered < perConnected / 10,
            note: `server RSS ${(idle.mem / MiB).toFixed(0)} → ${(registered.mem / MiB).toFixed(0)} MiB after registering (${Math.round((p.registered / ms) * 1000)}/s)`,
          },
          {
            scenario: label, figure: "server memory per connected, receiving device", unit: "KiB", natter: perConnected / KiB,
            note: `server RSS → ${(connected.mem / MiB).toFixed(0)} MiB with ${opened} connected (${js.consumers} consumers, ${connected.subscriptions} subscriptions)` +
              `; ${(left.mem / MiB).toFixed(0)} MiB after they left (${jsLeft.consumers} consumers remain until their 10 min inactivity threshold)${errs ? `; errors ${errs}` : ""}`,
          },
        ];
        return rows;
      } finally {
        await stack.stop();
      }
    } finally {
      await nats.stop();
    }
  },
};
