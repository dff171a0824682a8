/** How big each scenario runs: `smoke` for `npm test`, `quick` for checking the harness, `full` for figures. */
export type Mode = "smoke" | "quick" | "full";

export interface Profile {
  mode: Mode;
  /** Load-generator processes. */
  workers: number;
  chat: { pairs: number; bodySize: number; window: number; warmupMs: number; durationMs: number; drainMs: number };
  /** `size` counts the sender: a group of 10 makes 9 deliveries a message. */
  fanout: { groups: Array<{ size: number; count: number }>; bodySize: number; window: number; warmupMs: number; durationMs: number; drainMs: number };
  replay: { messages: number; bodySize: number };
  /**
   * `settleMs`: wait before reading memory, so it reflects what is held. V8 keeps the young
   * generation a burst of logins grew (about 29 MiB an edge) until a process has been
   * quiet for about 5 s, so a shorter wait counts it as memory the connections hold.
   */
  idle: { sizes: number[]; pingEveryMs: number; cpuWindowMs: number; settleMs: number };
  storm: { devices: number };
  logins: { accounts: number; perAccount: number; bcryptCost: number };
  files: { bytes: number; chunk: number; window: number };
  natsCost: { registered: number; connected: number; settleMs: number };
  /**
   * Chat with `devices` online (held, receiving): `pairs` chat saturated with `window` in
   * flight, then at `ratePerS` in all; an inbox of `offline` messages drained. Bodies,
   * phase lengths and idle pacing as in `chat` and `idle`.
   */
  online: { devices: number; pairs: number; window: number; ratePerS: number; offline: number };
  /** Idle authenticated connections over at least `edges` edges (more if one edge's open-file limit needs it). */
  idleEdges: { connections: number; edges: number };
  /** Timed starts of each `natter` command measured. */
  cliStart: { runs: number };
}

const MiB = 1024 * 1024;
/** The CLI pings every 30 s: idle connections ping at the same pace. */
const CLI_KEEPALIVE_MS = 30_000;

export const PROFILES: Record<Mode, Profile> = {
  smoke: {
    mode: "smoke",
    workers: 2,
    chat: { pairs: 4, bodySize: 200, window: 4, warmupMs: 200, durationMs: 1000, drainMs: 5000 },
    fanout: { groups: [{ size: 3, count: 2 }], bodySize: 200, window: 2, warmupMs: 200, durationMs: 1000, drainMs: 5000 },
    replay: { messages: 300, bodySize: 200 },
    idle: { sizes: [40], pingEveryMs: 1000, cpuWindowMs: 1000, settleMs: 300 },
    storm: { devices: 40 },
    logins: { accounts: 2, perAccount: 2, bcryptCost: 12 },
    files: { bytes: 2 * MiB, chunk: 256 * 1024, window: 4 },
    natsCost: { registered: 40, connected: 10, settleMs: 500 },
    online: { devices: 20, pairs: 4, window: 4, ratePerS: 100, offline: 300 },
    idleEdges: { connections: 50, edges: 5 },
    cliStart: { runs: 2 },
  },
  quick: {
    mode: "quick",
    workers: 2,
    chat: { pairs: 100, bodySize: 200, window: 8, warmupMs: 1000, durationMs: 5000, drainMs: 10_000 },
    fanout: { groups: [{ size: 10, count: 4 }, { size: 100, count: 1 }], bodySize: 200, window: 4, warmupMs: 1000, durationMs: 5000, drainMs: 15_000 },
    replay: { messages: 10_000, bodySize: 200 },
    idle: { sizes: [2000], pingEveryMs: CLI_KEEPALIVE_MS, cpuWindowMs: 5000, settleMs: 8000 },
    storm: { devices: 2000 },
    logins: { accounts: 16, perAccount: 3, bcryptCost: 12 },
    files: { bytes: 20 * MiB, chunk: 256 * 1024, window: 4 },
    natsCost: { registered: 3000, connected: 1000, settleMs: 3000 },
    online: { devices: 1000, pairs: 100, window: 32, ratePerS: 2000, offline: 10_000 },
    idleEdges: { connections: 5000, edges: 5 },
    cliStart: { runs: 10 },
  },
  full: {
    mode: "full",
    workers: 2,
    chat: { pairs: 100, bodySize: 200, window: 8, warmupMs: 3000, durationMs: 20_000, drainMs: 20_000 },
    fanout: { groups: [{ size: 10, count: 10 }, { size: 100, count: 2 }], bodySize: 200, window: 4, warmupMs: 3000, durationMs: 15_000, drainMs: 30_000 },
    replay: { messages: 50_000, bodySize: 200 },
    idle: { sizes: [10_000, 50_000, 100_000], pingEveryMs: CLI_KEEPALIVE_MS, cpuWindowMs: 30_000, settleMs: 10_000 },
    storm: { devices: 10_000 },
    logins: { accounts: 48, perAccount: 5, bcryptCost: 12 },
    files: { bytes: 100 * MiB, chunk: 256 * 1024, window: 4 },
    natsCost: { registered: 100_000, connected: 10_000, settleMs: 5000 },
    online: { devices: 5000, pairs: 100, window: 32, ratePerS: 2000, offline: 10_000 },
    idleEdges: { connections: 100_000, edges: 5 },
    cliStart: { runs: 30 },
  },
};
