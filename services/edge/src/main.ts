import { createRegistry, loadConfig, redactConfig, runService, startHealth } from "@natter/kit";
import { EdgeEnv } from "./config.ts";
import { startEdge } from "./edge.ts";

runService("edge", async ({ logger, onShutdown }) => {
  const config = loadConfig(EdgeEnv);
  logger.info({ config: redactConfig(config, []) }, "configured");
  const metrics = createRegistry("edge");
  const edge = await startEdge(config, logger, metrics);
  onShutdown(() => edge.close());
  if (config.EDGE_HEALTH_PORT) {
    const health = await startHealth({ port: config.EDGE_HEALTH_PORT, ready: async () => edge.isReady(), logger, metrics });
    onShutdown(() => health.close());
  }
}, { drainMs: Number(process.env["EDGE_DRAIN_MS"] ?? 5000) + 5000 });
