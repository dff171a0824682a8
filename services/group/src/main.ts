import { runService } from "@natter/kit";
import { GroupEnv, startGroup } from "./index.ts";

runService({ name: "group", env: GroupEnv, healthPort: (config) => config.GROUP_HEALTH_PORT, start: startGroup });
