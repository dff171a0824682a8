import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { createPrimitives } from "@natter/crypto";
import { Closers, ensureInboxStream, Histogram, openServiceConnections, StorePublisher, systemClock, type RunningService, type ServiceDeps } from "@natter/kit";
import { names } from "@natter/protocol";
import { AuthUserDirectory } from "./adapters/nats/auth-directory.ts";
import { startFanoutConsumer } from "./adapters/nats/fanout-consumer.ts";
import { ensureGroupStream } from "./adapters/nats/group-stream.ts";
import { JetStreamInboxPublisher } from "./adapters/nats/inbox-publisher.ts";
import { serveGroup } from "./adapters/nats/serve-group.ts";
import { PgGroupStore } from "./adapters/pg/group-store.ts";
import { CachedGroupStore } from "./adapters/nats/cached-group-store.ts";
import { OutboxRelay } from "./adapters/pg/outbox-relay.ts";
import type { GroupConfig } from "./config.ts";
import { GroupFanout } from "./domain/fanout.ts";
import { GroupService } from "./domain/group-service.ts";

const MIGRATIONS = fileURLToPath(new URL("../migrations", import.meta.url));
/** How often membership events that a failed publish left behind are tried again. */
const OUTBOX_INTERVAL_MS = 5000;

/**
 * The group service running in this process: ready while NATS is up; closing stops taking
 * requests and group messages, finishes those in hand, then closes NATS and Postgres.
 */
export interface RunningGroup extends RunningService {}

/**
 * Starts the group service in this process: migrates schema `grp`, makes sure the INBOX
 * and GROUPS streams exist, serves the GroupApi verbs and fans group messages out.
 */
export async function startGroup(config: Readonly<GroupConfig>, deps: ServiceDeps): Promise<RunningGroup> {
  const { logger, metrics } = deps;
  const lag = new Histogram({
    name: "natter_group_fanout_lag_seconds",
    help: "Time from a group message's acceptance to its copies being in every member's inbox",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: metrics ? [metrics] : [],
  });
  const n = names(config.NATTER_NAMESPACE);
  const closers = new Closers(logger);
  const close = () => closers.close();

  try {
    const { pool, nc } = await openServiceConnections(config, { name: "group", schema: "grp", migrations: MIGRATIONS }, closers, logger);
    const jsm = await jetstreamManager(nc);
    await ensureInboxStream(jsm, n, { replicas: config.NATTER_REPLICAS });
    await ensureGroupStream(jsm, n, config.NATTER_REPLICAS);

    const js = jetstream(nc);
    const publisher = new StorePublisher(nc);
    closers.push(() => publisher.close());
    const inbox = new JetStreamInboxPublisher(publisher, n);
    const store = new CachedGroupStore(new PgGroupStore(pool), nc, n, logger);
    closers.push(() => store.close());
    const relay = new OutboxRelay(pool, inbox, logger);
    relay.start(OUTBOX_INTERVAL_MS);
    closers.push(() => relay.stop());

    const fanout = await startFanoutConsumer({ js, jsm, n, fanout: new GroupFanout({ store, inbox }), logger, onFannedOut: (seconds) => lag.observe(seconds) });
    closers.push(() => fanout.stop());

    const service = new GroupService({ store, users: new AuthUserDirectory(nc, n), relay, clock: deps.clock ?? systemClock, newId: randomUUID, p: createPrimitives() });
    const server = serveGroup(nc, config.NATTER_NAMESPACE, service, logger);
    // Runs first on close: requests in flight get answers while NATS and Postgres are up.
    closers.push(() => server.drain());
    await nc.flush();

    return { isReady: () => !nc.isClosed() && !nc.isDraining(), close };
  } catch (err) {
    await close();
    throw err;
  }
}
