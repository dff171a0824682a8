import type { z } from "zod";
import { Closers } from "./closers.ts";
import { COMMON_SECRETS, ConfigError, loadConfig, redactConfig, type LogLevel } from "./config.ts";
import { startHealth } from "./health.ts";
import { createLogger, type Logger } from "./logger.ts";
import { createRegistry } from "./metrics.ts";
import type { RunningService, ServiceDeps } from "./service.ts";

const DEFAULT_DRAIN_MS = 10_000;

/** A service's environment schema: a zod object with (at least) CommonEnv's LOG_LEVEL. */
export type ServiceEnv = z.ZodObject<{ LOG_LEVEL: z.ZodType<LogLevel> }>;

/** What `runService` needs to know to run one service as a process. */
export interface ServiceDefinition<S extends ServiceEnv, R extends RunningService> {
  /** Names the service in its logs, its metrics and its stderr line. */
  readonly name: string;
  /** Its environment, parsed once from `process.env`. */
  readonly env: S;
  /** Configuration entries never to print, besides CommonEnv's (NATS_PASSWORD). */
  readonly secrets?: readonly string[];
  /** The port of /healthz, /readyz and /metrics; 0 serves none. */
  healthPort(config: Readonly<z.output<S>>): number;
  /** How long closing may take after SIGTERM or SIGINT before the process exits anyway (default 10 s). */
  drainMs?(config: Readonly<z.output<S>>): number;
  /** The service's `startX(config, deps)`. */
  start(config: Readonly<z.output<S>>, deps: ServiceDeps): Promise<R>;
}

/**
 * Runs a service as a process: parses its environment once (a bad one prints one line
 * naming every problem to stderr and exits 1), logs the configuration with secrets
 * redacted at the configured LOG_LEVEL, makes its metrics registry, starts it, and serves
 * its health endpoints (ready while `isReady()`) when its health port is set. A start that
 * fails prints one line to stderr and exits 1; so does an unhandled error.
 *
 * On SIGTERM or SIGINT the health server and then the service close, bounded by the drain
 * time, and the process exits 0; a second signal exits 1 at once.
 */
export function runService<S extends ServiceEnv, R extends RunningService>(service: ServiceDefinition<S, R>): void {
  let config: Readonly<z.output<S>>;
  try {
    config = loadConfig(service.env);
  } catch (err) {
    report(service.name, err);
    process.exit(1);
  }
  const logger = createLogger(service.name, config.LOG_LEVEL);
  const drainMs = service.drainMs?.(config) ?? DEFAULT_DRAIN_MS;
  const closers = new Closers(logger);
  let stopping: Promise<void> | undefined;

  const closeAll = async (): Promise<"done" | "timeout"> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), drainMs)));
    const outcome = await Promise.race([closers.close().then(() => "done" as const), timeout]);
    clearTimeout(timer);
    return outcome;
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = (async () => {
      logger.info({ reason: signal }, "shutting down");
      if ((await closeAll()) === "timeout") logger.warn({ drainMs }, "shutdown did not finish in time");
      process.exit(0);
    })();
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

  start(service, config, logger, closers).then(
    () => logger.info("started"),
    (err: unknown) => {
      report(service.name, err);
      logger.debug({ err }, "start failure");
      stopping ??= closeAll().then(() => process.exit(1));
    },
  );
}

/** Starts the service and then its health server, each closed by `closers` in reverse. */
async function start<S extends ServiceEnv, R extends RunningService>(
  service: ServiceDefinition<S, R>,
  config: Readonly<z.output<S>>,
  logger: Logger,
  closers: Closers,
): Promise<void> {
  logger.info({ config: redactConfig(config, [...COMMON_SECRETS, ...(service.secrets ?? [])]) }, "starting");
  const metrics = createRegistry(service.name);
  const running = await service.start(config, { logger, metrics });
  closers.push(() => running.close());
  const port = service.healthPort(config);
  if (port > 0) {
    const health = await startHealth({ port, logger, metrics, ready: async () => running.isReady() });
    closers.push(() => health.close());
  }
}

/** Why the service could not start, in one line to stderr (a ConfigError names every bad variable, never a value). */
function report(name: string, err: unknown): void {
  const why = err instanceof ConfigError ? err.message : `failed to start: ${err instanceof Error ? err.message : String(err)}`;
  process.stderr.write(`${name}: ${why}\n`);
}
