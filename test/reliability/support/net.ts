/** Loopback helpers: free ports, waiting for a port to open, sleeping. */
import { connect } from "node:net";

export { freePort } from "@natter/kit/testing";

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
