import { GroupApi, names, type GroupVerb, type Names } from "@natter/protocol";
import { serve, type Logger, type NatsConnection, type Subscription } from "@natter/kit";
import type { z } from "zod";
import type { GroupService } from "../../domain/group-service.ts";

type Handlers = { [K in GroupVerb]: (req: z.output<GroupApi[K]["req"]>) => Promise<z.input<GroupApi[K]["res"]>> };

export interface GroupServer {
  /** Stops taking requests and resolves once those in flight have been answered. */
  drain(): Promise<void>;
}

/** Serves every group verb on `<ns>.svc.group.<verb>` in the shared group queue group. */
export function serveGroup(nc: NatsConnection, namespace: string, service: GroupService, logger: Logger): GroupServer {
  let inFlight = 0;
  let onIdle: (() => void) | undefined;
  const track = async <T>(work: () => Promise<T>): Promise<T> => {
    inFlight += 1;
    try {
      return await work();
    } finally {
      inFlight -= 1;
      if (inFlight === 0) onIdle?.();
    }
  };
  const handlers: Handlers = {
    create: (req) => track(() => service.create(req)),
    join: (req) => track(() => service.join(req)),
    list: (req) => track(() => service.list(req)),
    members: (req) => track(() => service.members(req)),
    add: (req) => track(() => service.add(req)),
    remove: (req) => track(() => service.remove(req)),
    leave: (req) => track(() => service.leave(req)),
    admin: (req) => track(() => service.admin(req)),
    close: (req) => track(() => service.close(req)),
  };
  const n = names(namespace);
  const subs = (Object.keys(GroupApi) as GroupVerb[]).map((verb) => serveOne(nc, n, verb, handlers, logger));
  return {
    drain: async () => {
      await Promise.all(subs.map((sub) => sub.drain()));
      if (inFlight > 0) await new Promise<void>((resolve) => (onIdle = resolve));
    },
  };
}

function serveOne<K extends GroupVerb>(nc: NatsConnection, n: Names, verb: K, handlers: Handlers, logger: Logger): Subscription {
  return serve(nc, n.groupSvc(verb), n.groupQueue, GroupApi[verb], handlers[verb], logger.child({ verb }));
}
