import type pg from "pg";
import type { ClaimCounter } from "../../domain/claim-limits.ts";

/** Claim counters in `auth.claim_counts`, shared by replicas. */
export class PgClaimCounter implements ClaimCounter {
  constructor(private readonly pool: pg.Pool) {}

  async hit(key: string, windowStart: number): Promise<number> {
    const { rows } = await this.pool.query<{ claims: number }>(
      `INSERT INTO auth.claim_counts AS t (key, window_start, claims) VALUES ($1, $2, 1)
       ON CONFLICT (key) DO UPDATE SET
         claims = CASE WHEN t.window_start = EXCLUDED.window_start THEN t.claims + 1 ELSE 1 END,
         window_start = EXCLUDED.window_start
       RETURNING claims`,
      [key, new Date(windowStart)],
    );
    return rows[0]!.claims;
  }

  /** Forgets windows that ended before `before`. */
  async prune(before: number): Promise<void> {
    await this.pool.query("DELETE FROM auth.claim_counts WHERE window_start < $1", [new Date(before)]);
  }
}
