import { createRegistry, redactConfig, runService } from "@natter/kit";
import { AUTH_SECRETS, loadAuthConfig } from "./config.ts";
import { startAuth } from "./start-auth.ts";

runService("auth", async ({ logger, onShutdown }) => {
  const config = loadAuthConfig();
  logger.info({ config: redactConfig(config, AUTH_SECRETS) }, "starting");
  const auth = await startAuth(config, { logger, metrics: createRegistry("auth") });
  onShutdown(() => auth.close());
});
