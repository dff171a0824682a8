/**
 * Reconnect storm: N devices, authenticated across both edges, drop their connections at
 * once and resume with their tokens straight away (following redirects and retrying as
 * the CLI does). Resumes a second and the time until every device is back.
 */
import { percentiles, merge, sum } from "../lib/stats.ts";
import { listenOverflows, meterEach } from "../lib/proc.ts";
import { atLeastRow } from "../lib/report.ts";
import type { Scenario } from "../lib/scenario.ts";
import { split } from "../lib/workers.ts";

interface StormResult { times: Float64Array; welcomed: Float64Array; failed: number; retries: number; redirected: number; errors: Record<string, number> }

export const storm: Scenario = {
  name: "storm",
  title: "reconnect storm: every device resumes at once",
  async run(ctx) {
    const { storm: p } = ctx.profile;
    const stack = await ctx.main();
    const creds = await ctx.devices(p.devices);
    const perWorker = split(creds, ctx.pool.size);
    ctx.log(`connecting ${p.devices} devices`);
    await ctx.pool.all("holdOpen", (i) => ({ edges: stack.edges, creds: perWorker[i], addrOffset: i * 7919, concurrency: 200, pingEveryMs: 0, receive: false }));
    try {
      await new Promise((r) => setTimeout(r, 2000));
      ctx.log("storm");
      const queueBefore = listenOverflows();
      // Who spends the two cores while it lasts: the servers, and the load generators beside them.
      const cpu = meterEach([...stack.processes(), ...ctx.pool.workers.map((w) => ({ name: `load${w.index}`, pid: w.pid! }))]);
      const results = await ctx.pool.all<StormResult>("holdStorm", () => ({ retries: 5 }), 300_000);
      ctx.log(`storm over; CPU while it lasted: ${cpu().each}`);
      const times = merge(results.map((r) => r.times));
      const queueAfter = listenOverflows();
      const overflows = queueAfter.overflows - queueBefore.overflows;
      const lat = percentiles(times);
      const hello = percentiles(merge(results.map((r) => r.welcomed)));
      const back = times.length;
      const failed = sum(results.map((r) => r.failed));
      const errors: Record<string, number> = {};
      for (const r of results) for (const [code, n] of Object.entries(r.errors)) errors[code] = (errors[code] ?? 0) + n;
      const errs = Object.entries(errors).map(([c, n]) => `${c} ×${n}`).join(", ");
      const label = `reconnect storm, ${p.devices.toLocaleString("en-US")} devices`;
      return [
        atLeastRow({
          scenario: label, figure: "resumes/s", unit: "/s", natter: lat.max > 0 ? (back / lat.max) * 1000 : null,
          note: `${back} back, ${failed} gave up; ${sum(results.map((r) => r.retries))} retries${errs ? ` (${errs})` : ""}; ${sum(results.map((r) => r.redirected))} redirected`,
        }, 5000),
        { scenario: label, figure: "time until all are back", unit: "s", natter: failed ? null : lat.max / 1000, note: failed ? `${failed} devices never came back` : undefined },
        {
          scenario: label, figure: "p50 / p99 time to resumed", unit: "ms", natter: lat.p50,
          note: `p99 ${lat.p99.toFixed(0)} ms; of which connecting (to welcome) p50 ${hello.p50.toFixed(0)} ms, p99 ${hello.p99.toFixed(0)} ms; ` +
            `TCP listen-queue overflows on the machine during the storm: ${overflows}` +
            (overflows > 0 ? " (connections the edges' accept queues — EDGE_LISTEN_BACKLOG, at most net.core.somaxconn — turned away; clients retry SYN after 1 s, 3 s, …)" : ""),
        },
      ];
    } finally {
      await ctx.pool.all("holdClose", () => ({}));
    }
  },
};
