import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { Closers, openServiceConnections, systemClock, type NatsConnection, type RunningService, type ServiceDeps } from "@natter/kit";
import { names } from "@natter/protocol";
import type { PresenceConfig } from "./config.ts";
import { AuthBlockList } from "./adapters/nats/auth-block-list.ts";
import { listenToEdges } from "./adapters/nats/listen-to-edges.ts";
import { NatsSyncRequester } from "./adapters/nats/nats-sync-requester.ts";
import { servePresence } from "./adapters/nats/serve-presence.ts";
import { PgLastSeenStore } from "./adapters/pg/last-seen-store.ts";
import { PresenceService } from "./domain/presence-service.ts";

const MIGRATIONS = fileURLToPath(new URL("../migrations", import.meta.url));

/** One presence replica running in this process; ready while NATS is up and Postgres answers. */
export interface RunningPresence extends RunningService {}

/**
 * Starts one presence replica in this process: migrates, listens to every edge event,
 * asks the edges who is online, and after the warm-up serves `who` and `edges` in the
 * presence queue group.
 */
export async function startPresence(config: Readonly<PresenceConfig>, deps: ServiceDeps): Promise<RunningPresence> {
  const { logger } = deps;
  const clock = deps.clock ?? systemClock;
  const closers = new Closers(logger);
  const close = () => closers.close();

  try {
    const { pool, nc, isReady } = await openServiceConnections(config, { name: "presence", schema: "presence", migrations: MIGRATIONS }, closers, logger);
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

    return { isReady, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Events published while this replica was cut off are lost: ask the edges again. */
async function resyncAfterReconnects(nc: NatsConnection, presence: PresenceService): Promise<void> {
  for await (const status of nc.status()) {
    if (status.type === "reconnect") presence.resync();
  }
}
