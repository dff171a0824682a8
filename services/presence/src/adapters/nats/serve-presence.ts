import { PresenceApi, type Names } from "@natter/protocol";
import { serveApi, type ApiServer, type Logger, type NatsConnection } from "@natter/kit";
import type { PresenceService } from "../../domain/presence-service.ts";

/** Serves every presence verb on `<ns>.svc.presence.<verb>` in the shared presence queue group. */
export function servePresence(nc: NatsConnection, n: Names, presence: PresenceService, logger: Logger): ApiServer {
  return serveApi(nc, PresenceApi, n.presence, n.presenceQueue, {
    who: (req) => presence.who(req),
    edges: () => presence.edges(),
  }, logger);
}
