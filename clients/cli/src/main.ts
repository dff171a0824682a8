import { connect } from "node:net";
import type { Duplex } from "node:stream";
import { v7 } from "uuid";
import { runCli } from "./program.ts";
import type { ServerAddress } from "./servers.ts";

const CONNECT_TIMEOUT_MS = 3_000;

function dial(address: ServerAddress): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address.host, port: address.port });
    socket.setNoDelay(true);
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error("connect timeout")));
    socket.once("connect", () => {
      socket.setTimeout(0);
      socket.removeListener("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

const interrupt = new AbortController();
let interrupts = 0;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    // The first one ends listen and the shell cleanly; a second one ends natter now.
    if (++interrupts > 1) process.exit(130);
    interrupt.abort();
  });
}

const code = await runCli(
  {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    now: Date.now,
    random: Math.random,
    newId: () => v7(),
    dial,
    primitives: async () => (await import("@natter/crypto")).createPrimitives(),
    interrupt: interrupt.signal,
  },
  process.argv.slice(2),
);
process.exit(code);
