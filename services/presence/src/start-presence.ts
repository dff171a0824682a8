import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { Closers, connectNats, createLogger, createPool, migrate, startHealth, type Logger, type Registry } from "@natter/kit";
import { names } from "@natter/protocol";
import type { PresenceConfig } from "./config.ts";
import { AuthBlockList } from "./adapters/nats/auth-block-list.ts";
import { listenToEdges } from "./adapters/nats/listen-to-edges.ts";
import { NatsSyncRequester } from "./adapters/nats/nats-sync-requester.ts";
import { servePresence } from "./adapters/nats/serve-presence.ts";
import { PgLastSeenStore } from "./adapters/pg/last-seen-store.ts";
import { systemClock, type Clock } from "./domain/clock.ts";
import { PresenceService } from "./domain/presence-service.ts";

const MIGRATIONS = fileURLToPath(new URL("../migrations", import.meta.url));

export interface PresenceDepsOverride {
  /** Prometheus registry served at /metrics on the health port. */
  metrics?: Registry;
  logger?: Logger;
  clock?: Clock;
}

export interface RunningPresence {
  /** The health server's port when PRESENCE_HEALTH_PORT is set. */
  healthPort: number | undefined;
  /** Stops taking requests, lets those in flight finish, and closes connections. */
  close(): Promise<void>;
}

/**
 * Starts one presence replica in this process: migrates, listens to every edge event,
 * asks the edges who is online, and after the warm-up serves `who` and `edges` in the
 * presence queue group.
 */
export async function startPresence(config: Readonly<PresenceConfig>, deps: PresenceDepsOverride = {}): Promise<RunningPresence> {
  const logger = deps.logger ?? createLogger("presence", config.LOG_LEVEL);
  const clock = deps.clock ?? systemClock;
  const closers = new Closers(logger);
  const close = () => closers.close();

  try {
    const pool = createPool(config.DATABASE_URL, logger);
    closers.push(() => pool.end());
    await migrate(pool, { schema: "presence", dir: MIGRATIONS, logger });

    const nc = await connectNats({ servers: config.NATS_URL, name: "natter-presence", logger });
    closers.push(() => nc.drain());
    const n = names(config.NATTER_NAMESPACE);
    const presence = new PresenceService(
      {
        lastSeen: new PgLastSeenStore(pool),
        blocks: new AuthBlockList(nc, n),
        sync: new NatsSyncRequester(nc, n, logger),
        clock,
        onEdgesLost: (edges, offline) => logger.warn({ edges, offline }, "edges stopped heartbeating: their users are offline"),
      },
      { edgeTimeoutMs: config.PRESENCE_EDGE_TIMEOUT_MS },
    );

    listenToEdges(nc, n, presence, logger);
    // Listening before asking, so that no answer is missed.
    await nc.flush();
    presence.resync();
    void resyncAfterReconnects(nc, presence);

    const expiry = setInterval(() => {
      presence.expire().catch((err: unknown) => logger.warn({ err }, "could not record last seen of a lost edge's users"));
    }, Math.min(1000, Math.max(50, config.PRESENCE_EDGE_TIMEOUT_MS / 4)));
    expiry.unref();
    closers.push(() => clearInterval(expiry));

    await sleep(config.PRESENCE_WARMUP_MS);
    const server = servePresence(nc, n, presence, logger);
    // Runs before the connection drains and the pool ends: requests in flight get answers.
    closers.push(() => server.drain());
    await nc.flush();

    let healthPort: number | undefined;
    if (config.PRESENCE_HEALTH_PORT > 0) {
      const health = await startHealth({
        port: config.PRESENCE_HEALTH_PORT,
        logger,
        ...(deps.metrics ? { metrics: deps.metrics } : {}),
        ready: async () => {
          if (nc.isClosed() || nc.isDraining()) return false;
          await pool.query("SELECT 1");
          return true;
        },
      });
      healthPort = health.port;
      closers.push(() => health.close());
    }
    return { healthPort, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Events published while this replica was cut off are lost: ask the edges again. */
async function resyncAfterReconnects(nc: import("@natter/kit").NatsConnection, presence: PresenceService): Promise<void> {
  for await (const status of nc.status()) {
    if (status.type === "reconnect") presence.resync();
  }
}
