import { AuthApi, names, NatterError, type Names } from "@natter/protocol";
import { Counter, serve, type Logger, type NatsConnection, type Registry, type Subscription } from "@natter/kit";
import type { z } from "zod";
import type { AuthService } from "../../domain/auth-service.ts";
import type { PrivacyService } from "../../domain/privacy-service.ts";

type Handlers = { [K in keyof AuthApi]: (req: z.output<AuthApi[K]["req"]>) => Promise<z.input<AuthApi[K]["res"]>> };

export interface AuthServer {
  /** Stops taking requests and resolves once those in flight have been answered. */
  drain(): Promise<void>;
}

/** Serves every auth verb on `<ns>.svc.auth.<verb>` in the shared auth queue group. */
export function serveAuth(
  nc: NatsConnection, namespace: string, auth: AuthService, privacy: PrivacyService, logger: Logger, registry?: Registry,
): AuthServer {
  const outcomes = new Counter({
    name: "natter_auth_logins_total",
    help: "Password logins by outcome: ok, bad_credentials, locked (refused during a lockout), rate_limited",
    labelNames: ["outcome"],
    registers: registry ? [registry] : [],
  });
  const login = async (req: Parameters<Handlers["login"]>[0]) => {
    try {
      const grant = await auth.login(req);
      outcomes.labels("ok").inc();
      return grant;
    } catch (err) {
      if (err instanceof NatterError) {
        const outcome = { BAD_CREDENTIALS: "bad_credentials", ACCOUNT_LOCKED: "locked", RATE_LIMITED: "rate_limited" }[err.code as string];
        if (outcome) outcomes.labels(outcome).inc();
      }
      throw err;
    }
  };
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
    login: (req) => track(() => login(req)),
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
