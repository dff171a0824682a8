/**
 * 1:1 messages. Saturated: 100 sender/receiver pairs (sender on one edge, receiver on
 * the other), each sender with a window of sends in flight; delivered-and-acked
 * messages a second. Fixed rate: the same pairs at a quarter of the baseline's
 * saturated rate; end-to-end latency from `send` written to `deliver` read, and loss.
 * Baseline: nats.js publishing into an INBOX-like stream and consuming with the edge's
 * consumer settings, in the same worker processes.
 */
import { atMostRow, ratioRow, type Row } from "../lib/report.ts";
import type { Scenario } from "../lib/scenario.ts";
import { split } from "../lib/workers.ts";
import { notes, pct, saturatedPair, trafficEverywhere, trouble } from "./traffic.ts";

export const oneToOne: Scenario = {
  name: "one-to-one",
  title: "1:1 messages, saturated and at a fixed rate",
  async run(ctx) {
    const { chat } = ctx.profile;
    const stack = await ctx.main();
    const creds = await ctx.devices(2 * chat.pairs);
    const pairs = Array.from({ length: chat.pairs }, (_, i) => ({ from: creds[2 * i]!, to: creds[2 * i + 1]! }));
    const perWorker = split(pairs, ctx.pool.size);
    const baselineNs = await ctx.baselineNamespace();

    ctx.log(`opening ${chat.pairs} pairs on natter and on the baseline`);
    await ctx.pool.all("chatOpen", (i) => ({ set: "natter", edges: stack.edges, pairs: perWorker[i], addrOffset: i * 2 * chat.pairs }));
    await ctx.pool.all("jsChatOpen", (i) => ({ set: "baseline", natsUrl: stack.natsUrl, namespace: baselineNs, pairs: perWorker[i]!.length }));
    try {
      const base = { bodySize: chat.bodySize, warmupMs: chat.warmupMs, durationMs: chat.durationMs, drainMs: chat.drainMs };
      ctx.log("saturated: natter, baseline, baseline, natter");
      const { natter: natterSat, baseline: baseSat, note: satNote } = await saturatedPair(ctx.pool, { ...base, window: chat.window, latency: false });

      const rate = baseSat.deliveredPerS / 4;
      const perLink = () => rate / chat.pairs;
      ctx.log(`fixed rate ${Math.round(rate)} msgs/s: natter`);
      const natterFixed = await trafficEverywhere(ctx.pool, "natter", { ...base, latency: true }, perLink);
      ctx.log(`fixed rate ${Math.round(rate)} msgs/s: baseline`);
      const baseFixed = await trafficEverywhere(ctx.pool, "baseline", { ...base, latency: true }, perLink);

      const s = "1:1 saturated";
      const f = `1:1 at ${Math.round(rate)} msgs/s (¼ baseline)`;
      const rows: Row[] = [
        {
          ...ratioRow({
            scenario: s, figure: `delivered+acked msgs/s (${chat.pairs} pairs, ${chat.bodySize} B)`, unit: "/s",
            natter: natterSat.deliveredPerS, baseline: baseSat.deliveredPerS,
            note: notes(trouble("natter", natterSat), trouble("baseline", baseSat), "stretch target 0.7×", satNote),
          }, 0.5),
        },
        atMostRow({
          scenario: f, figure: "p50 end-to-end", unit: "ms", natter: pct(natterFixed, "p50"), baseline: pct(baseFixed, "p50"),
          note: rate > natterSat.deliveredPerS
            ? `this rate is above the ${Math.round(natterSat.deliveredPerS)} msgs/s natter sustained saturated in this run: its latency here is queueing`
            : undefined,
        }, 2),
        atMostRow({ scenario: f, figure: "p99 end-to-end", unit: "ms", natter: pct(natterFixed, "p99"), baseline: pct(baseFixed, "p99") }, 10),
        atMostRow({ scenario: f, figure: "p99.9 end-to-end", unit: "ms", natter: pct(natterFixed, "p999"), baseline: pct(baseFixed, "p999") }, 50),
        atMostRow({
          scenario: f, figure: "lost", unit: "", natter: natterFixed.lost, baseline: baseFixed.lost,
          note: notes(trouble("natter", natterFixed), trouble("baseline", baseFixed), `${natterFixed.latency.count} messages timed`),
        }, 0),
      ];
      return rows;
    } finally {
      await ctx.pool.all("trafficClose", () => ({ set: "natter" }));
      await ctx.pool.all("trafficClose", () => ({ set: "baseline" }));
    }
  },
};
