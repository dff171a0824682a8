import { ConfigError } from "./config.ts";
import { createLogger, type Logger } from "./logger.ts";

const LEVELS = new Set(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

export interface ServiceContext {
  logger: Logger;
  /** Registers a shutdown step; steps run in reverse order of registration. */
  onShutdown(fn: () => Promise<void> | void): void;
}

/**
 * Runs a service's `main`. On SIGTERM or SIGINT the shutdown steps run in reverse order,
 * bounded by `drainMs` (default 10 s), then the process exits 0. A failing `main` (such
 * as a ConfigError) prints one line to stderr and exits 1; so does an unhandled error.
 */
export function runService(
  name: string,
  main: (ctx: ServiceContext) => Promise<void>,
  opts: { drainMs?: number } = {},
): void {
  const envLevel = process.env["LOG_LEVEL"];
  const logger = createLogger(name, envLevel && LEVELS.has(envLevel) ? envLevel : "info");
  const drainMs = opts.drainMs ?? 10_000;
  const steps: Array<() => Promise<void> | void> = [];
  let stopping: Promise<void> | undefined;

  const runSteps = async (): Promise<void> => {
    for (const step of steps.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        logger.warn({ err }, "shutdown step failed");
      }
    }
  };

  const stop = (exitCode: number, reason: string): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ reason }, "shutting down");
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), drainMs);
      });
      const outcome = await Promise.race([runSteps().then(() => "done" as const), timeout]);
      clearTimeout(timer);
      if (outcome === "timeout") logger.warn({ drainMs }, "shutdown did not finish in time");
      process.exit(exitCode);
    })();
    return stopping;
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    void stop(0, signal);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  process.on("unhandledRejection", (err) => {
    logger.fatal({ err }, "unhandled rejection");
    process.exit(1);
  });
  process.on("uncaughtException", (err) => {
    logger.fatal({ err }, "uncaught exception");
    process.exit(1);
  });

  main({ logger, onShutdown: (fn) => void steps.push(fn) }).then(
    () => logger.info("started"),
    async (err: unknown) => {
      const why = err instanceof ConfigError
        ? err.message
        : `failed to start: ${err instanceof Error ? err.message : String(err)}`;
      process.stderr.write(`${name}: ${why}\n`);
      if (!(err instanceof ConfigError)) logger.debug({ err }, "start failure");
      await Promise.race([runSteps(), new Promise((resolve) => setTimeout(resolve, drainMs))]);
      process.exit(1);
    },
  );
}
