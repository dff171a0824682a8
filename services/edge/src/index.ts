export { startEdge, type Edge } from "./edge.ts";
export { EdgeEnv, type EdgeConfig } from "./config.ts";
