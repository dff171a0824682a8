import { v7 } from "uuid";
import { runCli } from "./program.ts";

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
    // Loaded on first use, so `natter --help` loads no protocol code.
    dial: async (address, options) => (await import("./transport/dial.ts")).dial(address, options),
    primitives: async () => (await import("@natter/crypto")).createPrimitives(),
    interrupt: interrupt.signal,
  },
  process.argv.slice(2),
);
process.exit(code);
