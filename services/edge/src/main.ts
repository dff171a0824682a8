import { loadConfig, redactConfig, runService, startHealth } from "@natter/kit";
import { EdgeEnv } from "./config.ts";
import { startEdge } from "./edge.ts";

runService("edge", async ({ logger, onShutdown }) => {
  const config = loadConfig(EdgeEnv);
  logger.info({ config: redactConfig(config, []) }, "configured");
  const edge = await startEdge(config, logger);
  onShutdown(() => edge.close());
  if (config.EDGE_HEALTH_PORT) {
    const health = await startHealth({ port: config.EDGE_HEALTH_PORT, ready: async () => edge.isReady(), logger });
    onShutdown(() => health.close());
  }
}, { drainMs: Number(process.env["EDGE_DRAIN_MS"] ?? 5000) + 5000 });
