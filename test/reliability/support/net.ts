/** Loopback helpers: free ports, waiting for a port to open, sleeping. */
import { connect, createServer } from "node:net";

/** A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Resolves once something accepts TCP connections on `host`:`port`; throws after `timeoutMs`. */
export async function waitForPort(port: number, what: string, timeoutMs = 15_000, host = "127.0.0.1"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((done) => {
      const socket = connect({ host, port, timeout: 500 });
      const finish = (ok: boolean) => { socket.destroy(); done(ok); };
      socket.once("connect", () => finish(true)).once("error", () => finish(false)).once("timeout", () => finish(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`${what} did not open ${host}:${port} within ${timeoutMs} ms`);
    await sleep(100);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
