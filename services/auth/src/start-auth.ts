import { fileURLToPath } from "node:url";
import { Closers, openServiceConnections, systemClock, type RunningService, type ServiceDeps } from "@natter/kit";
import { names, type BlockEvent, type SessionEnded } from "@natter/protocol";
import type { AuthConfig } from "./config.ts";
import { PgAccountStore } from "./adapters/pg/account-store.ts";
import { PgAttemptStore } from "./adapters/pg/attempt-store.ts";
import { PgBlockStore } from "./adapters/pg/block-store.ts";
import { PgClaimCounter } from "./adapters/pg/claim-counter.ts";
import { PgProfileStore } from "./adapters/pg/profile-store.ts";
import { PgSessionStore } from "./adapters/pg/session-store.ts";
import { BcryptHasher } from "./adapters/crypto/bcrypt-hasher.ts";
import { HmacSalts } from "./adapters/crypto/hmac-salts.ts";
import { JwtIssuer } from "./adapters/crypto/jwt-issuer.ts";
import { nodeSecrets } from "./adapters/crypto/node-secrets.ts";
import { NatsEventPublisher } from "./adapters/nats/nats-event-publisher.ts";
import { serveAuth } from "./adapters/nats/serve-auth.ts";
import { AuthService } from "./domain/auth-service.ts";
import { DEFAULT_CLAIM_POLICY } from "./domain/claim-limits.ts";
import { DEFAULT_LOGIN_POLICY } from "./domain/login-policy.ts";
import { PrivacyService } from "./domain/privacy-service.ts";

const MIGRATIONS = fileURLToPath(new URL("../migrations", import.meta.url));
const PRUNE_EVERY_MS = 5 * 60_000;
const ENDED_SESSIONS_KEPT_MS = 24 * 3_600_000;

/** The auth service running in this process; ready while NATS is up and Postgres answers. */
export interface RunningAuth extends RunningService {}

/** Starts the auth service in this process: migrates, connects and serves every verb. */
export async function startAuth(config: Readonly<AuthConfig>, deps: ServiceDeps): Promise<RunningAuth> {
  const { logger } = deps;
  const clock = deps.clock ?? systemClock;
  const closers = new Closers(logger);
  const close = () => closers.close();

  try {
    const { pool, nc, isReady } = await openServiceConnections(config, { name: "auth", schema: "auth", migrations: MIGRATIONS }, closers, logger);
    const n = names(config.NATTER_NAMESPACE);

    const attempts = new PgAttemptStore(pool);
    const accounts = new PgAccountStore(pool);
    const claims = new PgClaimCounter(pool);
    const sessions = new PgSessionStore(pool);
    const auth = await AuthService.create(
      {
        accounts,
        sessions,
        sessionEnds: new NatsEventPublisher<SessionEnded>(nc, n.sessionEvents, logger),
        attempts,
        hasher: new BcryptHasher(config.AUTH_BCRYPT_COST, config.AUTH_BCRYPT_CONCURRENCY),
        tokens: await JwtIssuer.create(config.AUTH_JWT_KEYS, config.AUTH_TOKEN_TTL),
        secrets: nodeSecrets,
        salts: new HmacSalts(config.AUTH_SALT_SECRET ?? config.AUTH_JWT_KEYS[0]!.d),
        claims,
        clock,
      },
      {
        ...DEFAULT_LOGIN_POLICY,
        lockMs: config.AUTH_LOCK_SECONDS * 1000,
        addrLimit: config.AUTH_ADDR_LIMIT,
        accountDelayAfter: config.AUTH_ACCOUNT_DELAY_AFTER,
        accountMaxDelayMs: config.AUTH_ACCOUNT_MAX_DELAY_SECONDS * 1000,
        refreshTtlMs: config.AUTH_REFRESH_TTL * 1000,
        sessionMaxAgeMs: config.AUTH_SESSION_MAX_AGE * 1000,
        ...DEFAULT_CLAIM_POLICY,
        claimerLimit: config.AUTH_CLAIM_LIMIT,
        pairLimit: config.AUTH_CLAIM_PAIR_LIMIT,
        targetPrekeyLimit: config.AUTH_CLAIM_PREKEY_LIMIT,
      },
    );

    const prune = setInterval(() => {
      attempts.prune(clock.now() - DEFAULT_LOGIN_POLICY.addrWindowMs).catch((err: unknown) => logger.warn({ err }, "pruning attempts failed"));
      claims.prune(clock.now() - DEFAULT_CLAIM_POLICY.claimWindowMs).catch((err: unknown) => logger.warn({ err }, "pruning claim counts failed"));
      // A session that ended a day ago is forgotten with the refresh tokens it spent.
      sessions.prune(clock.now() - ENDED_SESSIONS_KEPT_MS).catch((err: unknown) => logger.warn({ err }, "pruning sessions failed"));
    }, PRUNE_EVERY_MS);
    prune.unref();
    closers.push(() => clearInterval(prune));

    const privacy = new PrivacyService({
      accounts,
      blocks: new PgBlockStore(pool),
      profiles: new PgProfileStore(pool),
      events: new NatsEventPublisher<BlockEvent>(nc, n.blockEvents, logger),
      clock,
    });
    const server = serveAuth(nc, config.NATTER_NAMESPACE, auth, privacy, logger, deps.metrics);
    // Runs before the connection drains and the pool ends: requests in flight get answers.
    closers.push(() => server.drain());
    await nc.flush();

    return { isReady, close };
  } catch (err) {
    await close();
    throw err;
  }
}
