import { runService } from "@natter/kit";
import { EdgeEnv, startEdge } from "./index.ts";

runService({
  name: "edge",
  env: EdgeEnv,
  healthPort: (config) => config.EDGE_HEALTH_PORT,
  // Clients get EDGE_DRAIN_MS to leave; the rest closes in the 5 s after.
  drainMs: (config) => config.EDGE_DRAIN_MS + 5000,
  start: startEdge,
});
