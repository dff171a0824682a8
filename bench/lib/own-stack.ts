/**
 * A stack on a nats-server of the bench's own, so that every server process is natter's
 * alone: their processes for CPU time, and what the edges and NATS hold in memory.
 */
import { startBenchStack, type BenchStack, type BenchStackOptions } from "./bench-stack.ts";
import { startOwnNats, type OwnNats } from "./nats-server.ts";
import type { ScenarioContext } from "./scenario.ts";
import { sum } from "./stats.ts";

/** Bytes held by the edges (RSS after a forced collection, all edges) and by NATS (its /varz mem). */
export interface ServerMemory {
  /** The edges' RSS after a forced collection, all together. */
  edges: number;
  /** Of which V8's heap in use, and the young generation's space (however empty). */
  edgesHeapUsed: number;
  edgesYoungSpace: number;
  nats: number;
}

export interface OwnStack {
  readonly nats: OwnNats;
  readonly stack: BenchStack;
  /** Every server process, named: auth, group, presence, each edge and the nats-server. */
  processes(): Array<{ name: string; pid: number }>;
  memory(): Promise<ServerMemory>;
}

/** Runs `fn` against a fresh nats-server and a stack on it, then stops both. */
export async function withOwnStack<T>(ctx: ScenarioContext, options: Omit<BenchStackOptions, "natsUrl">, fn: (own: OwnStack) => Promise<T>): Promise<T> {
  ctx.log("starting a nats-server of our own");
  const nats = await startOwnNats();
  try {
    ctx.log(`starting a stack on it (${options.edges ?? 2} edges)`);
    const stack = await startBenchStack({ ...options, natsUrl: nats.url });
    try {
      const edges = () => stack.edges.map((_, i) => i);
      return await fn({
        nats,
        stack,
        processes: () => [...stack.processes(), { name: "nats", pid: nats.pid }],
        async memory() {
          const [held, varz] = await Promise.all([Promise.all(edges().map((i) => stack.collect(i))), nats.varz()]);
          return {
            edges: sum(held.map((m) => m.rss)),
            edgesHeapUsed: sum(held.map((m) => m.heapUsed)),
            edgesYoungSpace: sum(held.map((m) => m.youngSpace ?? 0)),
            nats: varz.mem,
          };
        },
      });
    } finally {
      await stack.stop();
    }
  } finally {
    await nats.stop();
  }
}

/**
 * Of the edges' RSS: V8's heap in use, and the space of its young generation, which stays
 * as large as the last burst of work grew it (up to 3 × 16 MiB an edge) however empty.
 */
export function edgesHeap(before: ServerMemory, after: ServerMemory): string {
  const mib = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(0)} MiB`;
  return `edges' V8 heap in use ${mib(before.edgesHeapUsed)} → ${mib(after.edgesHeapUsed)}, young generation's space ${mib(before.edgesYoungSpace)} → ${mib(after.edgesYoungSpace)}`;
}
