import type pg from "pg";
import type { AttemptStore, LoginState } from "../../domain/attempt-store.ts";
import { hitWindow } from "./window-counter.ts";

const ADDRESS_ATTEMPTS = { table: "auth.address_attempts", key: "addr", count: "attempts" } as const;

const DAY_MS = 86_400_000;

interface PairRow {
  failures: number;
  locked_until: Date | null;
  known_since: Date | null;
}

interface AccountRow {
  failures: number;
  not_before: Date | null;
  last_failure_at: Date | null;
}

const ms = (d: Date | null) => d?.getTime();
const date = (n: number | undefined) => (n === undefined ? null : new Date(n));

/**
 * Per-address attempt counters in `auth.address_attempts`, and login failures in
 * `auth.login_accounts` and `auth.login_pairs`, shared by replicas.
 */
export class PgAttemptStore implements AttemptStore {
  constructor(private readonly pool: pg.Pool) {}

  hit(addr: string, windowStart: number): Promise<number> {
    return hitWindow(this.pool, ADDRESS_ATTEMPTS, addr, windowStart);
  }

  async updateLogin<T>(username: string, addr: string, now: number, decide: (state: LoginState) => { state: LoginState; result: T }): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      // The upserts take the rows' locks (account first, then pair, always in that order):
      // a concurrent login of the same name waits here until this one commits.
      const account = await client.query<AccountRow>(
        `INSERT INTO auth.login_accounts AS t (username, updated_at) VALUES ($1, $2)
         ON CONFLICT (username) DO UPDATE SET updated_at = t.updated_at
         RETURNING failures, not_before, last_failure_at`,
        [username, new Date(now)],
      );
      const pair = await client.query<PairRow>(
        `INSERT INTO auth.login_pairs AS t (username, addr, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (username, addr) DO UPDATE SET updated_at = t.updated_at
         RETURNING failures, locked_until, known_since`,
        [username, addr, new Date(now)],
      );
      const a = account.rows[0]!;
      const p = pair.rows[0]!;
      const { state, result } = decide({
        account: { failures: a.failures, notBefore: ms(a.not_before), lastFailureAt: ms(a.last_failure_at) },
        pair: { failures: p.failures, lockedUntil: ms(p.locked_until), knownSince: ms(p.known_since) },
      });
      await client.query(
        "UPDATE auth.login_accounts SET failures = $2, not_before = $3, last_failure_at = $4, updated_at = $5 WHERE username = $1",
        [username, state.account.failures, date(state.account.notBefore), date(state.account.lastFailureAt), new Date(now)],
      );
      await client.query(
        "UPDATE auth.login_pairs SET failures = $3, locked_until = $4, known_since = $5, updated_at = $6 WHERE username = $1 AND addr = $2",
        [username, addr, state.pair.failures, date(state.pair.lockedUntil), date(state.pair.knownSince), new Date(now)],
      );
      await client.query("COMMIT");
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * Forgets windows that ended before `before`, and login failures untouched for a day
   * whose locks have ended; addresses an owner logged in from are kept for 90 days.
   */
  async prune(before: number): Promise<void> {
    await this.pool.query("DELETE FROM auth.address_attempts WHERE window_start < $1", [new Date(before)]);
    await this.pool.query(
      `DELETE FROM auth.login_pairs
        WHERE (known_since IS NULL AND updated_at < $1 AND (locked_until IS NULL OR locked_until < $2))
           OR updated_at < $3`,
      [new Date(before - DAY_MS), new Date(before), new Date(before - 90 * DAY_MS)],
    );
    await this.pool.query(
      "DELETE FROM auth.login_accounts WHERE updated_at < $1 AND (not_before IS NULL OR not_before < $2)",
      [new Date(before - DAY_MS), new Date(before)],
    );
  }
}
