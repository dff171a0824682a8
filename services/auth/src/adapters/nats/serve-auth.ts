import { AuthApi, names, type Names } from "@natter/protocol";
import { serve, type Logger, type NatsConnection, type Subscription } from "@natter/kit";
import type { z } from "zod";
import type { AuthService } from "../../domain/auth-service.ts";
import type { PrivacyService } from "../../domain/privacy-service.ts";

type Handlers = { [K in keyof AuthApi]: (req: z.output<AuthApi[K]["req"]>) => Promise<z.input<AuthApi[K]["res"]>> };

export interface AuthServer {
  /** Stops taking requests and resolves once those in flight have been answered. */
  drain(): Promise<void>;
}

/** Serves every auth verb on `<ns>.svc.auth.<verb>` in the shared auth queue group. */
export function serveAuth(nc: NatsConnection, namespace: string, auth: AuthService, privacy: PrivacyService, logger: Logger): AuthServer {
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
    register: (req) => track(() => auth.register(req)),
    login: (req) => track(() => auth.login(req)),
    refresh: (req) => track(() => auth.refresh(req)),
    logout: (req) => track(() => auth.logout(req)),
    session: (req) => track(() => auth.session(req)),
    keys: async () => auth.keys(),
    user: (req) => track(() => auth.user(req)),
    claim: (req) => track(() => auth.claim(req)),
    prekeys: (req) => track(() => auth.prekeys(req)),
    backup: (req) => track(() => auth.backup(req)),
    block: (req) => track(() => privacy.block(req)),
    unblock: (req) => track(() => privacy.unblock(req)),
    blocks: (req) => track(() => privacy.blocks(req)),
    profile: (req) => track(() => privacy.profile(req)),
    profileOf: (req) => track(() => privacy.profileOf(req)),
  };
  const n = names(namespace);
  const subs = (Object.keys(AuthApi) as Array<keyof AuthApi>).map((verb) => serveOne(nc, n, verb, handlers, logger));
  return {
    drain: async () => {
      await Promise.all(subs.map((sub) => sub.drain()));
      if (inFlight > 0) await new Promise<void>((resolve) => (onIdle = resolve));
    },
  };
}

function serveOne<K extends keyof AuthApi>(nc: NatsConnection, n: Names, verb: K, handlers: Handlers, logger: Logger): Subscription {
  return serve(nc, n.auth(verb), n.authQueue, AuthApi[verb], handlers[verb], logger.child({ verb }));
}
