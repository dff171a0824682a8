import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "./logger.ts";

export type { NatsConnection, Subscription } from "@nats-io/transport-node";

const FIRST_CONNECT_RETRY_MS = 1000;

/** A service's NATS user and password (NATS_USER, NATS_PASSWORD); none on an open NATS. */
export interface NatsCredentials {
  readonly user: string;
  readonly password: string;
}

/**
 * Where a NATS user's replies come: `_INBOX.<user>`. Each user may listen only under its
 * own prefix (deploy/nats/permissions.ts), so one service cannot read replies meant for
 * another; without a user, the library's `_INBOX`.
 */
export function natsInboxPrefix(user: string): string {
  return `_INBOX.${user}`;
}

const inboxPrefixes = new WeakMap<NatsConnection, string>();

/** The prefix of the reply subjects `nc` may subscribe to: `natsInboxPrefix(user)` for a connection made with credentials. */
export function inboxPrefixOf(nc: NatsConnection): string | undefined {
  return inboxPrefixes.get(nc);
}

/**
 * The credentials in a service's configuration: both of NATS_USER and NATS_PASSWORD, or
 * neither (an open NATS, as in development and tests). Throws when only one is set.
 */
export function natsCredentials(config: { readonly NATS_USER?: string | undefined; readonly NATS_PASSWORD?: string | undefined }): NatsCredentials | undefined {
  const { NATS_USER: user, NATS_PASSWORD: password } = config;
  if (user === undefined && password === undefined) return undefined;
  if (user === undefined || password === undefined) throw new Error("NATS_USER and NATS_PASSWORD are set together or not at all");
  return { user, password };
}

/**
 * Connects to NATS (`servers` may list several, comma-separated) and stays connected:
 * the first connection is retried until it succeeds and later losses reconnect forever.
 * With `credentials` it connects as that user, its replies under `natsInboxPrefix(user)`.
 * Status changes are logged, a refused user or subject among them (never the password);
 * the connection is never given up on.
 */
export async function connectNats(opts: { servers: string; name: string; logger: Logger; credentials?: NatsCredentials | undefined }): Promise<NatsConnection> {
  const log = opts.logger.child({ module: "nats" });
  const servers = opts.servers.split(",").map((s) => s.trim()).filter(Boolean);
  const auth = opts.credentials
    ? { user: opts.credentials.user, pass: opts.credentials.password, inboxPrefix: natsInboxPrefix(opts.credentials.user) }
    : {};
  let attempts = 0;
  for (;;) {
    try {
      const nc = await connect({
        servers, name: opts.name, maxReconnectAttempts: -1, reconnectTimeWait: 1000, pingInterval: 20_000, ...auth,
        // The library otherwise makes an Error (a stack capture) for every request, JetStream
        // publishes included, only to improve the trace of one that fails: a measurable share
        // of an edge's CPU under load.
        noAsyncTraces: true,
      });
      if (auth.inboxPrefix !== undefined) inboxPrefixes.set(nc, auth.inboxPrefix);
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
