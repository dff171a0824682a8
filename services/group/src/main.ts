import { createRegistry, loadConfig, redactConfig, runService, startHealth } from "@natter/kit";
import { GroupEnv } from "./config.ts";
import { startGroup } from "./start-group.ts";

runService("group", async ({ logger, onShutdown }) => {
  const config = loadConfig(GroupEnv);
  logger.info({ config: redactConfig(config, []) }, "configured");
  const metrics = createRegistry("group");
  const group = await startGroup(config, logger, metrics);
  onShutdown(() => group.close());
  if (config.GROUP_HEALTH_PORT) {
    const health = await startHealth({ port: config.GROUP_HEALTH_PORT, ready: async () => group.isReady(), logger, metrics });
    onShutdown(() => health.close());
  }
});
