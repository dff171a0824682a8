import { createServer as createTcpServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { encodeFrame, ERRORS } from "@natter/protocol";
import { ClientConnection, type EdgeContext } from "./connection.ts";

export interface Listener {
  readonly port: number;
  readonly connections: ReadonlySet<ClientConnection>;
  /** What connections hold now: those not yet logged in, and bytes of unfinished frames. */
  stats(): { waiting: number; partialBytes: number };
  /** Stops accepting, tells every client to move on, and closes what is left after `drainMs`. */
  drain(drainMs: number): Promise<void>;
}

export interface ListenOptions {
  host: string;
  port: number;
  backlog?: number;
  tls?: { cert: Buffer; key: Buffer };
}

/** How long a refused socket may take to read why before it is destroyed. */
const REFUSED_LINGER_MS = 1000;
const TOO_MANY = encodeFrame({ t: "error", code: "TOO_MANY_CONNECTIONS", message: ERRORS.TOO_MANY_CONNECTIONS });

/**
 * The client-facing TCP (or TLS) listener of an edge. A connection past the caps on those
 * not yet logged in is told TOO_MANY_CONNECTIONS and closed before it costs more than its
 * socket; every half keepalive, logged-in connections silent for two keepalives are closed
 * (a client that stopped pinging is gone, whatever TCP believes).
 */
export async function listen(options: ListenOptions, ctx: EdgeContext): Promise<Listener> {
  const connections = new Set<ClientConnection>();
  const forget = (connection: ClientConnection) => connections.delete(connection);
  const accept = (socket: Socket) => {
    if (!ctx.admission.admit(socket.remoteAddress ?? "unknown")) {
      socket.on("error", () => undefined);
      socket.end(TOO_MANY);
      setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
      return;
    }
    connections.add(new ClientConnection(socket, ctx, forget));
  };
  const server: Server = options.tls ? createTlsServer({ ...options.tls, minVersion: "TLSv1.2", handshakeTimeout: ctx.loginTimeoutMs }, accept) : createTcpServer(accept);
  server.on("error", (error) => ctx.logger.error({ err: error.message }, "listener error"));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: options.port, host: options.host, backlog: options.backlog ?? 4096 }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const sweep = setInterval(() => {
    const silentSince = Date.now() - 2 * ctx.keepaliveMs;
    for (const connection of connections) {
      // A long download writes without hearing back: only a connection with nothing left to write is idle.
      if (connection.isLoggedIn && connection.lastHeard < silentSince && connection.buffered === 0) connection.close();
    }
    ctx.admission.sweep();
  }, ctx.keepaliveMs / 2);
  sweep.unref();
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;

  return {
    port,
    connections,
    stats: () => ({ waiting: ctx.admission.waitingConnections, partialBytes: ctx.partialFrames.inUse }),
    async drain(drainMs: number) {
      clearInterval(sweep);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const connection of connections) connection.shutdown();
      const deadline = Date.now() + drainMs;
      while (connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      for (const connection of [...connections]) connection.close();
      await closed;
    },
  };
}
