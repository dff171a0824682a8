import pg from "pg";
import type { Logger } from "./logger.ts";

/** A Postgres pool whose idle-client errors are logged instead of crashing the process. */
export function createPool(url: string, logger: Logger): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 10, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000 });
  const log = logger.child({ module: "pg" });
  pool.on("error", (err) => log.warn({ err }, "idle Postgres client failed"));
  return pool;
}
