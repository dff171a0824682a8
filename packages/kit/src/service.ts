import type { Logger } from "./logger.ts";
import type { Registry } from "./metrics.ts";

/** Where code gets the time (milliseconds since the epoch); tests pass a fake. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * What every `startX(config, deps)` of a service is given besides its configuration: the
 * logger, the Prometheus registry its metrics go to (served at /metrics on the health
 * port), and the clock.
 */
export interface ServiceDeps {
  readonly logger: Logger;
  readonly metrics?: Registry;
  readonly clock?: Clock;
}

/** What every `startX` returns. */
export interface RunningService {
  /**
   * True while the service can do its work (its connections are up and it is not draining);
   * a service that needs Postgres asks it, hence the promise.
   */
  isReady(): boolean | Promise<boolean>;
  /** Stops taking work, lets what is in flight finish, and closes connections. */
  close(): Promise<void>;
}
