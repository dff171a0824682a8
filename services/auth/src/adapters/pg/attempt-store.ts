import type pg from "pg";
import type { AttemptStore } from "../../domain/attempt-store.ts";

/** Per-address attempt counters in `auth.address_attempts`, shared by replicas. */
export class PgAttemptStore implements AttemptStore {
  constructor(private readonly pool: pg.Pool) {}

  async hit(addr: string, windowStart: number): Promise<number> {
    const { rows } = await this.pool.query<{ attempts: number }>(
      `INSERT INTO auth.address_attempts AS t (addr, window_start, attempts) VALUES ($1, $2, 1)
       ON CONFLICT (addr) DO UPDATE SET
         attempts = CASE WHEN t.window_start = EXCLUDED.window_start THEN t.attempts + 1 ELSE 1 END,
         window_start = EXCLUDED.window_start
       RETURNING attempts`,
      [addr, new Date(windowStart)],
    );
    return rows[0]!.attempts;
  }

  /** Forgets windows that ended before `before`. */
  async prune(before: number): Promise<void> {
    await this.pool.query("DELETE FROM auth.address_attempts WHERE window_start < $1", [new Date(before)]);
  }
}
