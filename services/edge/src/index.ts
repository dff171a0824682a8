export { startEdge, type Edge } from "./edge.ts";
export { EdgeEnv, type EdgeConfig } from "./config.ts";
export { DEVICE_PULL, deviceConsumerConfig } from "./adapters/nats/inbox.ts";
