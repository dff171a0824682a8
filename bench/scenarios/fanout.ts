/**
 * Group fan-out through `gsend`: the edge stores the message on GROUPS, the group service
 * checks membership and copies it into every other member's inbox, each member's edge
 * delivers. Saturated: member-deliveries a second. Then a fixed rate of a quarter of
 * that: time from `gsend` to the last member. Baseline: the same copies published
 * straight into the members' inboxes (as the group service publishes them) and consumed
 * with the edge's consumer settings.
 */
import { ratioRow, type Row } from "../lib/report.ts";
import type { Scenario } from "../lib/scenario.ts";
import { split } from "../lib/workers.ts";
import { notes, pct, saturatedPair, trafficEverywhere, trouble } from "./traffic.ts";

export const fanout: Scenario = {
  name: "fanout",
  title: "group fan-out via gsend",
  async run(ctx) {
    const { fanout: f } = ctx.profile;
    const stack = await ctx.main();
    const rows: Row[] = [];
    const needed = Math.max(...f.groups.map((g) => g.size * g.count));
    const creds = await ctx.devices(needed);

    for (const { size, count } of f.groups) {
      const label = `fan-out, ${count} group${count > 1 ? "s" : ""} of ${size}`;
      ctx.log(`${label}: creating groups`);
      const groups = [];
      for (let g = 0; g < count; g++) {
        const members = creds.slice(g * size, (g + 1) * size);
        const [sender, ...others] = members;
        const groupId = await stack.createGroup(`bench-${size}-${g}-${Date.now().toString(36)}`, sender!, others);
        groups.push({ groupId, sender: sender!, members: others });
      }
      const perWorker = split(groups, ctx.pool.size);
      const baselineNs = await ctx.baselineNamespace();
      await ctx.pool.all("groupOpen", (i) => ({ set: "natter", edges: stack.edges, groups: perWorker[i], addrOffset: i * needed }));
      await ctx.pool.all("jsGroupOpen", (i) => ({ set: "baseline", natsUrl: stack.natsUrl, namespace: baselineNs, groups: perWorker[i]!.map(() => size - 1) }));
      try {
        const base = { bodySize: f.bodySize, warmupMs: f.warmupMs, durationMs: f.durationMs, drainMs: f.drainMs };
        ctx.log(`${label}: saturated, natter, baseline, baseline, natter`);
        const { natter: natterSat, baseline: baseSat, note: satNote } = await saturatedPair(ctx.pool, { ...base, window: f.window, latency: false });
        // A quarter of what natter sustained, in messages a second a group.
        const perGroup = natterSat.deliveredPerS / (size - 1) / count / 4;
        ctx.log(`${label}: ${perGroup.toFixed(1)} msgs/s a group, natter then baseline`);
        const natterFixed = await trafficEverywhere(ctx.pool, "natter", { ...base, latency: true }, () => perGroup);
        const baseFixed = await trafficEverywhere(ctx.pool, "baseline", { ...base, latency: true }, () => perGroup);
        rows.push(
          ratioRow({
            scenario: label, figure: "member-deliveries/s (saturated)", unit: "/s",
            natter: natterSat.deliveredPerS, baseline: baseSat.deliveredPerS,
            note: notes(trouble("natter", natterSat), trouble("baseline", baseSat), satNote),
          }, 0.5),
          {
            scenario: label, figure: `p99 to last member at ${(perGroup * count).toFixed(0)} msgs/s`, unit: "ms",
            natter: pct(natterFixed, "p99"), baseline: pct(baseFixed, "p99"),
            note: notes(trouble("natter", natterFixed), trouble("baseline", baseFixed), `p50 ${natterFixed.latency.p50.toFixed(1)} ms vs ${baseFixed.latency.p50.toFixed(1)} ms`, `${natterFixed.latency.count} messages timed`),
          },
          { scenario: label, figure: "lost member copies", unit: "", natter: natterSat.lost + natterFixed.lost, baseline: baseSat.lost + baseFixed.lost, target: "0", met: natterSat.lost + natterFixed.lost === 0 },
        );
      } finally {
        await ctx.pool.all("trafficClose", () => ({ set: "natter" }));
        await ctx.pool.all("trafficClose", () => ({ set: "baseline" }));
      }
    }
    return rows;
  },
};
