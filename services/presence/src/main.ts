import { runService } from "@natter/kit";
import { PRESENCE_SECRETS, PresenceEnv, startPresence } from "./index.ts";

runService({ name: "presence", env: PresenceEnv, secrets: PRESENCE_SECRETS, healthPort: (config) => config.PRESENCE_HEALTH_PORT, start: startPresence });
