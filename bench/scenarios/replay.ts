/**
 * Offline replay: one device comes back to N waiting messages. The inbox is filled
 * straight through JetStream with records exactly as an edge stores them (setup, not
 * measured); the device then resumes, asks to receive, and acks each delivery. Baseline:
 * a durable consumer with the edge's settings draining the same number of records.
 */
import { JetStreamSide, fillInbox } from "../load/baseline.ts";
import { ratioRow } from "../lib/report.ts";
import type { Scenario } from "../lib/scenario.ts";
import { notes } from "./traffic.ts";

export const replay: Scenario = {
  name: "replay",
  title: "offline replay of a full inbox",
  async run(ctx) {
    const { replay: r } = ctx.profile;
    const stack = await ctx.main();
    const { creds: [device] } = await stack.register(1, { prefix: "replay" });
    const baselineNs = await ctx.baselineNamespace();
    const baselineUser = crypto.randomUUID();

    ctx.log(`filling two inboxes with ${r.messages} messages`);
    const natterSide = await JetStreamSide.open(stack.natsUrl, stack.namespace);
    const baseSide = await JetStreamSide.open(stack.natsUrl, baselineNs);
    try {
      await fillInbox(natterSide, device!.userId, r.messages, r.bodySize);
      await fillInbox(baseSide, baselineUser, r.messages, r.bodySize);
    } finally {
      await natterSide.close();
      await baseSide.close();
    }
    const timeoutMs = Math.max(60_000, r.messages * 5);
    const [worker] = ctx.pool.workers;
    ctx.log("draining: natter");
    const natter = await worker!.call<{ ms: number; received: number }>("replayNatter", { edge: stack.edges[0], cred: device, expected: r.messages, timeoutMs });
    ctx.log("draining: baseline");
    const base = await worker!.call<{ ms: number; received: number }>("replayBaseline", { natsUrl: stack.natsUrl, namespace: baselineNs, userId: baselineUser, expected: r.messages, timeoutMs });
    const missing = (got: number) => (got < r.messages ? `${r.messages - got} not delivered within ${timeoutMs / 1000} s` : undefined);
    return [
      ratioRow({
        scenario: `offline replay, ${r.messages.toLocaleString("en-US")} waiting`, figure: "msgs/s to drain", unit: "/s",
        natter: (natter.received / natter.ms) * 1000, baseline: (base.received / base.ms) * 1000,
        note: notes(missing(natter.received), missing(base.received) && `baseline: ${missing(base.received)}`,
          `natter drained in ${(natter.ms / 1000).toFixed(1)} s, baseline in ${(base.ms / 1000).toFixed(1)} s`),
      }, 0.5),
      { scenario: `offline replay, ${r.messages.toLocaleString("en-US")} waiting`, figure: "lost", unit: "", natter: r.messages - natter.received, baseline: r.messages - base.received, target: "0", met: natter.received === r.messages },
    ];
  },
};
