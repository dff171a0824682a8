import pg from "pg";
import type { Logger } from "./logger.ts";

/** A Postgres pool whose idle-client errors are logged instead of crashing the process. */
export function createPool(url: string, logger: Logger): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 10, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000 });
  const log = logger.child({ module: "pg" });
  pool.on("error", (err) => log.warn({ err }, "idle Postgres client failed"));
  return pool;
}

/** SQLSTATEs of a server that is shutting down, starting up or was restarted under us. */
const UNAVAILABLE_STATES = new Set(["57P01", "57P02", "57P03"]);
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH"]);

/**
 * Whether `err` says Postgres cannot be reached right now (down, restarting, connection
 * lost) rather than that a query is wrong: a caller may simply try again later.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") return code.startsWith("08") || UNAVAILABLE_STATES.has(code) || NETWORK_CODES.has(code);
  // node-postgres and pg-pool raise these without a code.
  return /^Connection terminated|timeout exceeded when trying to connect/.test(err.message);
}
