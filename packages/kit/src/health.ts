import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { Logger } from "./logger.ts";

/**
 * Serves `GET /healthz` (200 while the process runs), `GET /readyz` (200 when
 * `ready()` resolves true, else 503) and, given a registry, `GET /metrics` (Prometheus).
 * Port 0 picks a free port.
 */
export async function startHealth(opts: {
  port: number;
  host?: string;
  ready: () => Promise<boolean>;
  logger: Logger;
  metrics?: Registry;
}): Promise<{ port: number; close(): Promise<void> }> {
  const log = opts.logger.child({ module: "health" });
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const send = (status: number, text: string) => {
      res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
      res.end(text + "\n");
    };
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, "method not allowed");
    if (path === "/healthz") return send(200, "ok");
    if (path === "/readyz") {
      opts.ready().then(
        (ready) => send(ready ? 200 : 503, ready ? "ready" : "not ready"),
        (err: unknown) => {
          log.warn({ err }, "readiness check failed");
          send(503, "not ready");
        },
      );
      return;
    }
    if (path === "/metrics" && opts.metrics) {
      const registry = opts.metrics;
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { "content-type": registry.contentType, "cache-control": "no-store" });
          res.end(text);
        },
        (err: unknown) => {
          log.warn({ err }, "metrics collection failed");
          send(500, "metrics unavailable");
        },
      );
      return;
    }
    send(404, "not found");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
