/**
 * Password logins at bcrypt cost 12, on a stack of its own (auth at cost 12). Accounts are
 * registered first (at cost 12 too, so their hashes cost what real ones do); then every
 * account logs in over and over on fresh connections, all accounts side by side. Figures:
 * logins a second, client-seen latency, and the event-loop delay of auth and the edges
 * (read by a probe preloaded into those processes) and their CPU during the burst.
 */
import type { Endpoint } from "../load/device.ts";
import { startBenchStack, type BenchStack } from "../lib/bench-stack.ts";
import { CpuMeter } from "../lib/proc.ts";
import { atMostRow, type Row } from "../lib/report.ts";
import type { Scenario } from "../lib/scenario.ts";
import { merge, percentiles, sum } from "../lib/stats.ts";
import { split } from "../lib/workers.ts";

interface LoginResult { latencies: Float64Array; errors: Record<string, number>; ms: number }

function worstProbe(stack: BenchStack, services: string[], from: number, to: number) {
  const samples = services.flatMap((s) => stack.probes(s, from, to));
  return { p99: Math.max(0, ...samples.map((s) => s.p99 ?? 0)), max: Math.max(0, ...samples.map((s) => s.max ?? 0)), windows: samples.length };
}

export const logins: Scenario = {
  name: "logins",
  title: "password logins at bcrypt cost 12",
  async run(ctx) {
    const { logins: p } = ctx.profile;
    ctx.log(`starting a stack with bcrypt cost ${p.bcryptCost}`);
    const stack = await startBenchStack({ bcryptCost: p.bcryptCost, loopProbe: true });
    try {
      const password = "bench-password-12";
      ctx.log(`registering ${p.accounts} accounts at cost ${p.bcryptCost}`);
      const registered = await stack.register(p.accounts, { password, prefix: "login", concurrency: 16 });
      const accounts = registered.creds.map((c) => ({ username: c.username, password }));
      const perWorker = split(accounts, ctx.pool.size);
      const edges: Endpoint[] = stack.edges;
      const meters = { auth: new CpuMeter(stack.pid("auth")), edges: stack.stack.edges.map((_, i) => new CpuMeter(stack.pid(i))) };
      const from = performance.now();
      ctx.log(`${p.accounts * p.perAccount} logins`);
      const results = await ctx.pool.all<LoginResult>("logins", (i) => ({ edges, accounts: perWorker[i], perAccount: p.perAccount, addrOffset: i * 1000 }));
      const to = performance.now();
      const authCores = meters.auth.cores();
      const edgeCores = meters.edges.map((m) => m.cores());
      await new Promise((r) => setTimeout(r, 700));

      const lat = percentiles(merge(results.map((r) => r.latencies)));
      const seconds = (to - from) / 1000;
      const errors: Record<string, number> = {};
      for (const r of results) for (const [code, n] of Object.entries(r.errors)) errors[code] = (errors[code] ?? 0) + n;
      const errs = Object.entries(errors).map(([c, n]) => `${c} ×${n}`).join(", ");
      const authLoop = worstProbe(stack, ["auth"], from, to);
      const edgeLoop = worstProbe(stack, stack.stack.edges.map((e) => e.name), from, to);
      const label = `logins, bcrypt cost ${p.bcryptCost}`;
      const rows: Row[] = [
        {
          scenario: label, figure: "logins/s", unit: "/s", natter: lat.count / seconds,
          note: `${lat.count} logins by ${p.accounts} accounts in ${seconds.toFixed(1)} s${errs ? `; errors ${errs}` : ""}`,
        },
        { scenario: label, figure: "client-seen login latency p50 / p99", unit: "ms", natter: lat.p50, note: `p99 ${lat.p99.toFixed(0)} ms` },
        atMostRow({ scenario: label, figure: "auth event-loop delay p99 (worst 0.5 s window)", unit: "ms", natter: authLoop.windows ? authLoop.p99 : null, note: `max ${authLoop.max} ms over ${authLoop.windows} windows` }, 20),
        atMostRow({ scenario: label, figure: "edge event-loop delay p99 (worst 0.5 s window)", unit: "ms", natter: edgeLoop.windows ? edgeLoop.p99 : null, note: `max ${edgeLoop.max} ms over ${edgeLoop.windows} windows, both edges` }, 20),
        { scenario: label, figure: "CPU during the burst: auth / edges", unit: "% core", natter: authCores * 100, note: `edges ${edgeCores.map((c) => (c * 100).toFixed(0)).join(" + ")} % of a core` },
        { scenario: label, figure: "registrations/s (setup)", unit: "/s", natter: (p.accounts / registered.ms) * 1000 },
      ];
      return rows;
    } finally {
      await stack.stop();
    }
  },
};
