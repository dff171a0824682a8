import type pg from "pg";
import type { ClaimCounter } from "../../domain/claim-limits.ts";
import { hitWindow } from "./window-counter.ts";

const CLAIM_COUNTS = { table: "auth.claim_counts", key: "key", count: "claims" } as const;

/** Claim counters in `auth.claim_counts`, shared by replicas. */
export class PgClaimCounter implements ClaimCounter {
  constructor(private readonly pool: pg.Pool) {}

  hit(key: string, windowStart: number): Promise<number> {
    return hitWindow(this.pool, CLAIM_COUNTS, key, windowStart);
  }

  /** Forgets windows that ended before `before`. */
  async prune(before: number): Promise<void> {
    await this.pool.query("DELETE FROM auth.claim_counts WHERE window_start < $1", [new Date(before)]);
  }
}
