import { createServer as createTcpServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { ClientConnection, type EdgeContext } from "./connection.ts";

export interface Listener {
  readonly port: number;
  readonly connections: ReadonlySet<ClientConnection>;
  /** Stops accepting, tells every client to move on, and closes what is left after `drainMs`. */
  drain(drainMs: number): Promise<void>;
}

export interface ListenOptions {
  host: string;
  port: number;
  backlog?: number;
  tls?: { cert: Buffer; key: Buffer };
}

/** The client-facing TCP (or TLS) listener of an edge. */
export async function listen(options: ListenOptions, ctx: EdgeContext): Promise<Listener> {
  const connections = new Set<ClientConnection>();
  const forget = (connection: ClientConnection) => connections.delete(connection);
  const accept = (socket: Socket) => {
    connections.add(new ClientConnection(socket, ctx, forget));
  };
  const server: Server = options.tls ? createTlsServer({ ...options.tls, minVersion: "TLSv1.2" }, accept) : createTcpServer(accept);
  server.on("error", (error) => ctx.logger.error({ err: error.message }, "listener error"));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: options.port, host: options.host, backlog: options.backlog ?? 4096 }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;

  return {
    port,
    connections,
    async drain(drainMs: number) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const connection of connections) connection.shutdown();
      const deadline = Date.now() + drainMs;
      while (connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      for (const connection of [...connections]) connection.close();
      await closed;
    },
  };
}
