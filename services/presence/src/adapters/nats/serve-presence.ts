import { PresenceApi, type Names } from "@natter/protocol";
import { serve, type Logger, type NatsConnection, type Subscription } from "@natter/kit";
import type { z } from "zod";
import type { PresenceService } from "../../domain/presence-service.ts";

type Handlers = { [K in keyof PresenceApi]: (req: z.output<PresenceApi[K]["req"]>) => Promise<z.input<PresenceApi[K]["res"]>> };

export interface PresenceServer {
  /** Stops taking requests and resolves once those in flight have been answered. */
  drain(): Promise<void>;
}

/** Serves every presence verb on `<ns>.svc.presence.<verb>` in the shared presence queue group. */
export function servePresence(nc: NatsConnection, n: Names, presence: PresenceService, logger: Logger): PresenceServer {
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
    who: (req) => track(() => presence.who(req)),
    edges: () => track(() => presence.edges()),
  };
  const subs = (Object.keys(PresenceApi) as Array<keyof PresenceApi>).map((verb) => serveOne(nc, n, verb, handlers, logger));
  return {
    drain: async () => {
      await Promise.all(subs.map((sub) => sub.drain()));
      if (inFlight > 0) await new Promise<void>((resolve) => (onIdle = resolve));
    },
  };
}

function serveOne<K extends keyof PresenceApi>(nc: NatsConnection, n: Names, verb: K, handlers: Handlers, logger: Logger): Subscription {
  return serve(nc, n.presence(verb), n.presenceQueue, PresenceApi[verb], handlers[verb], logger.child({ verb }));
}
