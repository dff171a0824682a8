/**
 * Offline replay: one device comes back to N waiting messages. The inbox is filled
 * straight through JetStream with records exactly as an edge stores them (setup, not
 * measured); the device then resumes, asks to receive, and acks each delivery. Baseline:
 * a durable consumer with the edge's settings draining the same number of records.
 */
import { JetStreamSide, fillInbox } from "../load/baseline.ts";
import type { Endpoint } from "../load/device.ts";
import type { Cred } from "../load/worker.ts";
import { ratioRow } from "../lib/report.ts";
import type { Scenario } from "../lib/scenario.ts";
import type { LoadWorker } from "../lib/workers.ts";
import { notes } from "./traffic.ts";

export interface Drained { ms: number; received: number }

/** How long a drain of `messages` may take before what has not come counts as missing. */
export const drainTimeoutMs = (messages: number) => Math.max(60_000, messages * 5);

/** Puts `messages` records in `userId`'s inbox of `namespace`, as an edge stores them (setup, not measured). */
export async function fillWaiting(natsUrl: string, namespace: string, userId: string, messages: number, bodySize: number): Promise<void> {
  const side = await JetStreamSide.open(natsUrl, namespace);
  try {
    await fillInbox(side, userId, messages, bodySize);
  } finally {
    await side.close();
  }
}

/** `cred` comes back on `edge` to `expected` waiting messages; ms from asking to receive to the last. */
export function drainOnEdge(worker: LoadWorker, edge: Endpoint, cred: Cred, expected: number): Promise<Drained> {
  return worker.call<Drained>("replayNatter", { edge, cred, expected, timeoutMs: drainTimeoutMs(expected) });
}

/** What did not come within the drain's time, or undefined. */
export function missing(drained: Drained, expected: number): string | undefined {
  return drained.received < expected ? `${expected - drained.received} not delivered within ${drainTimeoutMs(expected) / 1000} s` : undefined;
}

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
    await fillWaiting(stack.natsUrl, stack.namespace, device!.userId, r.messages, r.bodySize);
    await fillWaiting(stack.natsUrl, baselineNs, baselineUser, r.messages, r.bodySize);
    const [worker] = ctx.pool.workers;
    ctx.log("draining: natter");
    const natter = await drainOnEdge(worker!, stack.edges[0]!, device!, r.messages);
    ctx.log("draining: baseline");
    const base = await worker!.call<Drained>("replayBaseline", {
      natsUrl: stack.natsUrl, namespace: baselineNs, userId: baselineUser, expected: r.messages, timeoutMs: drainTimeoutMs(r.messages),
    });
    const baseMissing = missing(base, r.messages);
    return [
      ratioRow({
        scenario: `offline replay, ${r.messages.toLocaleString("en-US")} waiting`, figure: "msgs/s to drain", unit: "/s",
        natter: (natter.received / natter.ms) * 1000, baseline: (base.received / base.ms) * 1000,
        note: notes(missing(natter, r.messages), baseMissing && `baseline: ${baseMissing}`,
          `natter drained in ${(natter.ms / 1000).toFixed(1)} s, baseline in ${(base.ms / 1000).toFixed(1)} s`),
      }, 0.5),
      { scenario: `offline replay, ${r.messages.toLocaleString("en-US")} waiting`, figure: "lost", unit: "", natter: r.messages - natter.received, baseline: r.messages - base.received, target: "0", met: natter.received === r.messages },
    ];
  },
};
