import { readFile } from "node:fs/promises";
import { jetstreamManager } from "@nats-io/jetstream";
import { AuthApi, EDGE_HEARTBEAT_MS, GroupApi, names, PresenceApi } from "@natter/protocol";
import { connectNats, ensureInboxStream, natsCredentials, serviceCall, systemClock, type RunningService, type ServiceDeps } from "@natter/kit";
import { prometheusEdgeMetrics } from "./adapters/metrics/prometheus.ts";
import type { EdgeConfig } from "./config.ts";
import { Admission } from "./domain/admission.ts";
import { Balancer } from "./domain/balancer.ts";
import { PartialFrameBudget } from "./domain/partial-frame-budget.ts";
import { UserSendRates } from "./domain/user-send-rates.ts";
import { ActiveSessions } from "./adapters/nats/active-sessions.ts";
import { BlockCache } from "./adapters/nats/block-cache.ts";
import { PresenceReporter } from "./adapters/nats/presence-reporter.ts";
import { JetStreamInbox } from "./adapters/nats/inbox.ts";
import { NatsSessionBus } from "./adapters/nats/session-bus.ts";
import { TurnBatch } from "./adapters/nats/turn-batch.ts";
import { JwksTokenVerifier } from "./adapters/nats/token-verifier.ts";
import { JetStreamFileQuota } from "./adapters/nats/file-quota.ts";
import { ObjectFileStore } from "./adapters/nats/file-store.ts";
import { RecipientCache } from "./adapters/nats/recipient-cache.ts";
import { SendUsageShare } from "./adapters/nats/send-usage-share.ts";
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
  const nc = await connectNats({ servers: config.NATS_URL, name: `edge:${config.EDGE_PORT}`, logger, credentials: natsCredentials(config) });
  try {
    await ensureInboxStream(await jetstreamManager(nc), n, {
      replicas: config.NATTER_REPLICAS,
      caps: { maxPerUser: config.EDGE_INBOX_MAX_MSGS, maxBytes: config.EDGE_INBOX_MAX_BYTES },
    });
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
    const sendRates = new UserSendRates(config.EDGE_SEND_RATE);
    const sendUsage = new SendUsageShare(nc, n, self, sendRates, logger);
    listener = await listen(
      { host: config.EDGE_HOST, port: config.EDGE_PORT, backlog: config.EDGE_LISTEN_BACKLOG, ...(tls ? { tls } : {}) },
      {
        maxFrame: config.EDGE_MAX_FRAME,
        loginTimeoutMs: config.EDGE_LOGIN_TIMEOUT_MS,
        keepaliveMs: config.EDGE_KEEPALIVE_MS,
        admission: new Admission({
          perAddress: config.EDGE_MAX_WAITING_PER_ADDR, total: config.EDGE_MAX_WAITING, preLoginRate: config.EDGE_PRELOGIN_RATE,
        }),
        partialFrames: new PartialFrameBudget(config.EDGE_PARTIAL_FRAME_BYTES),
        logger,
        metrics,
        session: new SessionHandlers({
          get edgeName() { return self.name; },
          maxFrame: config.EDGE_MAX_FRAME,
          maxFile: config.EDGE_MAX_FILE,
          chunkSize: config.EDGE_CHUNK_SIZE,
          redirect: (back) => balancer.redirect(connections(), draining, back),
          auth,
          bus: new NatsSessionBus(nc, n, logger, turn),
          tokens: new JwksTokenVerifier(async () => (await auth("keys", {})).keys),
          sessions,
          presence,
        }),
        messaging: new MessagingHandlers({
          inbox: await JetStreamInbox.create(nc, n, logger, turn),
          blocks,
          recipients: new RecipientCache(auth),
          sendRates,
          metrics,
          clock: deps.clock ?? systemClock,
        }),
        transfers: new TransferHandlers({
          files: await ObjectFileStore.create(nc, n, config.NATTER_REPLICAS),
          quota: await JetStreamFileQuota.create(nc, n, config.EDGE_FILE_QUOTA_BYTES, config.NATTER_REPLICAS),
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
        sendUsage.close();
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
