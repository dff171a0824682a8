import { readFile } from "node:fs/promises";
import { jetstreamManager } from "@nats-io/jetstream";
import { AuthApi, EDGE_HEARTBEAT_MS, GroupApi, names, PresenceApi } from "@natter/protocol";
import { connectNats, ensureInboxStream, serviceCall, systemClock, type RunningService, type ServiceDeps } from "@natter/kit";
import { prometheusEdgeMetrics } from "./adapters/metrics/prometheus.ts";
import type { EdgeConfig } from "./config.ts";
import { Balancer } from "./domain/balancer.ts";
import { ActiveSessions } from "./adapters/nats/active-sessions.ts";
import { BlockCache } from "./adapters/nats/block-cache.ts";
import { PresenceReporter } from "./adapters/nats/presence-reporter.ts";
import { JetStreamInbox } from "./adapters/nats/inbox.ts";
import { NatsSessionBus } from "./adapters/nats/session-bus.ts";
import { TurnBatch } from "./adapters/nats/turn-batch.ts";
import { JwksTokenVerifier } from "./adapters/nats/token-verifier.ts";
import { ObjectFileStore } from "./adapters/nats/file-store.ts";
import { MessagingHandlers } from "./handlers/messaging.ts";
import { SessionHandlers } from "./handlers/session.ts";
import { TransferHandlers } from "./handlers/transfers.ts";
import { listen, type Listener } from "./server.ts";

const NO_METRICS = { frameIn() {}, frameOut() {}, accepted() {}, publishFailed() {}, delivered() {} };

/** A running edge. `close` drains clients (bounded by EDGE_DRAIN_MS), then closes NATS. */
export interface RunningEdge extends RunningService {
  readonly port: number;
  readonly name: string;
  readonly listener: Listener;
}

/** Starts an edge: connects to NATS, makes sure the inbox stream exists, and listens for clients. */
export async function startEdge(config: Readonly<EdgeConfig>, deps: ServiceDeps): Promise<RunningEdge> {
  const { logger } = deps;
  const n = names(config.NATTER_NAMESPACE);
  const nc = await connectNats({ servers: config.NATS_URL, name: `edge:${config.EDGE_PORT}`, logger });
  try {
    await ensureInboxStream(await jetstreamManager(nc), n, { replicas: config.NATTER_REPLICAS });
    // Every NATS write of the edge waits for the end of the event-loop turn, so the work of
    // one round of client reads reaches NATS in one write (see TurnBatch).
    const turn = new TurnBatch();
    const before = () => turn.end();
    const auth = serviceCall(nc, AuthApi, n.auth, { before });
    const services = {
      auth,
      group: serviceCall(nc, GroupApi, n.groupSvc, { before }),
      presence: serviceCall(nc, PresenceApi, n.presence, { before }),
    };
    const tls = config.EDGE_TLS_CERT && config.EDGE_TLS_KEY
      ? { cert: await readFile(config.EDGE_TLS_CERT), key: await readFile(config.EDGE_TLS_KEY) }
      : undefined;
    // Known once listening (the port may be picked by the system).
    const self = { name: "", address: "" };
    const balancer = new Balancer(() => self, EDGE_HEARTBEAT_MS * 3);
    const blocks = new BlockCache(nc, n, auth, logger);
    const sessions = new ActiveSessions(nc, n, auth, logger);
    let listener: Listener | undefined;
    let draining = false;
    const connections = () => listener?.connections.size ?? 0;
    const presence = new PresenceReporter(nc, n, self, connections, balancer, logger, turn);
    const metrics = deps.metrics ? prometheusEdgeMetrics(deps.metrics, connections) : NO_METRICS;
    listener = await listen(
      { host: config.EDGE_HOST, port: config.EDGE_PORT, backlog: config.EDGE_LISTEN_BACKLOG, ...(tls ? { tls } : {}) },
      {
        maxFrame: config.EDGE_MAX_FRAME,
        sendRate: config.EDGE_SEND_RATE,
        loginTimeoutMs: config.EDGE_LOGIN_TIMEOUT_MS,
        logger,
        metrics,
        session: new SessionHandlers({
          get edgeName() { return self.name; },
          maxFrame: config.EDGE_MAX_FRAME,
          maxFile: config.EDGE_MAX_FILE,
          chunkSize: config.EDGE_CHUNK_SIZE,
          redirect: () => balancer.redirect(connections(), draining),
          auth,
          bus: new NatsSessionBus(nc, n, logger, turn),
          tokens: new JwksTokenVerifier(async () => (await auth("keys", {})).keys),
          sessions,
          presence,
        }),
        messaging: new MessagingHandlers({
          inbox: await JetStreamInbox.create(nc, n, logger, turn),
          blocks,
          metrics,
          clock: deps.clock ?? systemClock,
        }),
        transfers: new TransferHandlers({
          files: await ObjectFileStore.create(nc, n, config.NATTER_REPLICAS),
          maxFile: config.EDGE_MAX_FILE,
        }),
        services,
      },
    );
    self.address = config.EDGE_PUBLIC_ADDR ?? `${config.EDGE_HOST}:${listener.port}`;
    self.name = config.EDGE_NAME ?? self.address;
    presence.start();
    logger.info({ port: listener.port, tls: Boolean(tls) }, "edge listening");
    const running = listener;
    return {
      port: running.port,
      name: self.name,
      listener: running,
      isReady: () => !nc.isClosed() && !draining,
      async close() {
        draining = true;
        presence.drain();
        await running.drain(config.EDGE_DRAIN_MS);
        presence.stop();
        blocks.close();
        sessions.close();
        await nc.drain();
      },
    };
  } catch (error) {
    await nc.close();
    throw error;
  }
}
