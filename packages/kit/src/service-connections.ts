import type pg from "pg";
import type { Closers } from "./closers.ts";
import type { Logger } from "./logger.ts";
import { migrate } from "./migrate.ts";
import { connectNats, natsCredentials, type NatsConnection } from "./nats.ts";
import { createPool } from "./pg.ts";

/** A service's own tables and its NATS connection, opened by `openServiceConnections`. */
export interface ServiceConnections {
  readonly pool: pg.Pool;
  readonly nc: NatsConnection;
  /** NATS is up and not draining, and Postgres answers. */
  isReady(): Promise<boolean>;
}

/**
 * What a service that owns tables opens first: a Postgres pool with its schema migrated
 * from `migrations`, then NATS (as NATS_USER when set). Both go on `closers`, so NATS
 * drains (letting requests in flight answer) before the pool ends.
 */
export async function openServiceConnections(
  config: { readonly DATABASE_URL: string; readonly NATS_URL: string; readonly NATS_USER?: string | undefined; readonly NATS_PASSWORD?: string | undefined },
  service: { name: string; schema: string; migrations: string },
  closers: Closers,
  logger: Logger,
): Promise<ServiceConnections> {
  const credentials = natsCredentials(config);
  const pool = createPool(config.DATABASE_URL, logger);
  closers.push(() => pool.end());
  await migrate(pool, { schema: service.schema, dir: service.migrations, logger });
  const nc = await connectNats({ servers: config.NATS_URL, name: `natter-${service.name}`, logger, credentials });
  closers.push(() => nc.drain());
  return {
    pool,
    nc,
    async isReady() {
      if (nc.isClosed() || nc.isDraining()) return false;
      await pool.query("SELECT 1");
      return true;
    },
  };
}
