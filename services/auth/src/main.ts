import { runService } from "@natter/kit";
import { AUTH_SECRETS, AuthEnv, startAuth } from "./index.ts";

runService({ name: "auth", env: AuthEnv, secrets: AUTH_SECRETS, healthPort: (config) => config.AUTH_HEALTH_PORT, start: startAuth });
