import { createRegistry, redactConfig, runService } from "@natter/kit";
import { PRESENCE_SECRETS, loadPresenceConfig } from "./config.ts";
import { startPresence } from "./start-presence.ts";

runService("presence", async ({ logger, onShutdown }) => {
  const config = loadPresenceConfig();
  logger.info({ config: redactConfig(config, PRESENCE_SECRETS) }, "starting");
  const presence = await startPresence(config, { logger, metrics: createRegistry("presence") });
  onShutdown(() => presence.close());
});
