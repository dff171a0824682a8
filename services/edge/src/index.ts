/**
 * @natter/edge: client connections — framing, sessions, delivery from JetStream, files
 * and redirects. `startEdge` runs an edge in process (tests, launchers); `src/main.ts` is
 * its entry point.
 */
export { startEdge, type RunningEdge } from "./edge.ts";
export { EdgeEnv, type EdgeConfig } from "./config.ts";
