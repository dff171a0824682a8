import { AuthApi, names, NatterError } from "@natter/protocol";
import { Counter, serveApi, type ApiServer, type Handlers, type Logger, type NatsConnection, type Registry } from "@natter/kit";
import type { AuthService } from "../../domain/auth-service.ts";
import type { PrivacyService } from "../../domain/privacy-service.ts";

export type AuthServer = ApiServer;

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
  const login = async (req: Parameters<Handlers<AuthApi>["login"]>[0]) => {
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
  const n = names(namespace);
  return serveApi(nc, AuthApi, n.auth, n.authQueue, {
    salt: (req) => auth.salt(req),
    register: (req) => auth.register(req),
    login,
    refresh: (req) => auth.refresh(req),
    logout: (req) => auth.logout(req),
    session: (req) => auth.session(req),
    sessions: (req) => auth.sessions(req),
    revoke: (req) => auth.revoke(req),
    keys: async () => auth.keys(),
    user: (req) => auth.user(req),
    claim: (req) => auth.claim(req),
    passwd: (req) => auth.passwd(req),
    prekeys: (req) => auth.prekeys(req),
    backup: (req) => auth.backup(req),
    signedPrekey: (req) => auth.signedPrekey(req),
    block: (req) => privacy.block(req),
    unblock: (req) => privacy.unblock(req),
    blocks: (req) => privacy.blocks(req),
    profile: (req) => privacy.profile(req),
    exists: (req) => privacy.exists(req),
    profileOf: (req) => privacy.profileOf(req),
  }, logger);
}
