import { readFile } from "node:fs/promises";
import { AuthApi, EDGE_HEARTBEAT_MS, GroupApi, names, PresenceApi } from "@natter/protocol";
import { call, connectNats, ensureInboxStream, type Logger, type Registry } from "@natter/kit";
import { prometheusEdgeMetrics } from "./adapters/metrics/prometheus.ts";
import { jetstreamManager } from "@nats-io/jetstream";
import type { EdgeConfig } from "./config.ts";
import type { AuthCall, GroupCall, PresenceCall } from "./connection.ts";
import { Balancer } from "./domain/balancer.ts";
import { ActiveSessions } from "./adapters/nats/active-sessions.ts";
import { BlockCache } from "./adapters/nats/block-cache.ts";
import { PresenceReporter } from "./adapters/nats/presence-reporter.ts";
import { JetStreamInbox } from "./adapters/nats/inbox.ts";
import { NatsSessionBus } from "./adapters/nats/session-bus.ts";
import { TurnBatch } from "./adapters/nats/turn-batch.ts";
import { JwksTokenVerifier } from "./adapters/nats/token-verifier.ts";
import { ObjectFileStore } from "./adapters/nats/file-store.ts";
import { listen, type Listener } from "./server.ts";

const NO_METRICS = { frameIn() {}, frameOut() {}, accepted() {}, publishFailed() {}, delivered() {} };

export interface Edge {
  readonly port: number;
  readonly name: string;
  readonly listener: Listener;
  /** Drains clients (bounded by EDGE_DRAIN_MS), then closes NATS. */
  close(): Promise<void>;
  isReady(): boolean;
}

/** Starts an edge: connects to NATS, makes sure the inbox stream exists, and listens for clients. */
export async function startEdge(config: EdgeConfig, logger: Logger, registry?: Registry): Promise<Edge> {
  const n = names(config.NATTER_NAMESPACE);
  const nc = await connectNats({ servers: config.NATS_URL, name: `edge:${config.EDGE_PORT}`, logger });
  try {
    await ensureInboxStream(await jetstreamManager(nc), n, { replicas: config.NATTER_REPLICAS });
    // Every NATS write of the edge waits for the end of the event-loop turn, so the work of
    // one round of client reads reaches NATS in one write (see TurnBatch).
    const turn = new TurnBatch();
    const auth: AuthCall = (verb, req) => turn.end().then(() => call(nc, n.auth(verb), AuthApi[verb], req));
    const group: GroupCall = (verb, req) => turn.end().then(() => call(nc, n.groupSvc(verb), GroupApi[verb], req));
    const presenceCall: PresenceCall = (verb, req) => turn.end().then(() => call(nc, n.presence(verb), PresenceApi[verb], req));
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
    const presence = new PresenceReporter(nc, n, self, () => listener?.connections.size ?? 0, balancer, logger, turn);
    listener = await listen(
      { host: config.EDGE_HOST, port: config.EDGE_PORT, backlog: config.EDGE_LISTEN_BACKLOG, ...(tls ? { tls } : {}) },
      {
        get edgeName() { return self.name; },
        maxFrame: config.EDGE_MAX_FRAME,
        sendRate: config.EDGE_SEND_RATE,
        loginTimeoutMs: config.EDGE_LOGIN_TIMEOUT_MS,
        maxFile: config.EDGE_MAX_FILE,
        chunkSize: config.EDGE_CHUNK_SIZE,
        files: await ObjectFileStore.create(nc, n, config.NATTER_REPLICAS),
        logger,
        auth,
        group,
        presenceCall,
        presence,
        blocks,
        metrics: registry ? prometheusEdgeMetrics(registry, () => listener?.connections.size ?? 0) : NO_METRICS,
        redirect: () => balancer.redirect(listener?.connections.size ?? 0, draining),
        inbox: await JetStreamInbox.create(nc, n, logger, turn),
        bus: new NatsSessionBus(nc, n, logger, turn),
        sessions,
        tokens: new JwksTokenVerifier(async () => (await auth("keys", {})).keys),
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
