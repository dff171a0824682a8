import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "./logger.ts";

export type { NatsConnection, Subscription } from "@nats-io/transport-node";

const FIRST_CONNECT_RETRY_MS = 1000;

/**
 * Connects to NATS (`servers` may list several, comma-separated) and stays connected:
 * the first connection is retried until it succeeds and later losses reconnect forever.
 * Status changes are logged; the connection is never given up on.
 */
export async function connectNats(opts: { servers: string; name: string; logger: Logger }): Promise<NatsConnection> {
  const log = opts.logger.child({ module: "nats" });
  const servers = opts.servers.split(",").map((s) => s.trim()).filter(Boolean);
  let attempts = 0;
  for (;;) {
    try {
      const nc = await connect({
        servers, name: opts.name, maxReconnectAttempts: -1, reconnectTimeWait: 1000, pingInterval: 20_000,
        // The library otherwise makes an Error (a stack capture) for every request, JetStream
        // publishes included, only to improve the trace of one that fails: a measurable share
        // of an edge's CPU under load.
        noAsyncTraces: true,
      });
      if (attempts > 0) log.info({ server: nc.getServer() }, "connected to NATS");
      void watchStatus(nc, log);
      return nc;
    } catch (err) {
      attempts += 1;
      // A warning each time at first, then every 30th try so a long outage stays readable.
      if (attempts <= 3 || attempts % 30 === 0) log.warn({ err, servers, attempts }, "NATS not reachable yet; retrying");
      await new Promise((resolve) => setTimeout(resolve, FIRST_CONNECT_RETRY_MS));
    }
  }
}

async function watchStatus(nc: NatsConnection, log: Logger): Promise<void> {
  for await (const status of nc.status()) {
    switch (status.type) {
      case "disconnect":
        log.warn({ server: status.server }, "NATS disconnected");
        break;
      case "reconnect":
        log.info({ server: status.server }, "NATS reconnected");
        break;
      case "error":
        log.warn({ err: status.error }, "NATS error");
        break;
      case "ldm":
        log.info({ server: status.server }, "NATS server entering lame duck mode");
        break;
      case "slowConsumer":
        log.warn({ subject: status.sub.getSubject(), pending: status.pending }, "NATS slow consumer");
        break;
      case "staleConnection":
        log.warn("NATS connection stale");
        break;
      default:
        break;
    }
  }
}
