import { GroupApi, names } from "@natter/protocol";
import { serveApi, type ApiServer, type Logger, type NatsConnection } from "@natter/kit";
import type { GroupService } from "../../domain/group-service.ts";

/** Serves every group verb on `<ns>.svc.group.<verb>` in the shared group queue group. */
export function serveGroup(nc: NatsConnection, namespace: string, service: GroupService, logger: Logger): ApiServer {
  const n = names(namespace);
  return serveApi(nc, GroupApi, n.groupSvc, n.groupQueue, {
    create: (req) => service.create(req),
    join: (req) => service.join(req),
    list: (req) => service.list(req),
    members: (req) => service.members(req),
    add: (req) => service.add(req),
    remove: (req) => service.remove(req),
    leave: (req) => service.leave(req),
    admin: (req) => service.admin(req),
    close: (req) => service.close(req),
    chain: (req) => service.chain(req),
  }, logger);
}
