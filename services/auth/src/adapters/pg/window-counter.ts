import type pg from "pg";

/** A table of fixed-window counters: one row a key, with the window it counts and the count. */
export interface WindowCounterTable {
  readonly table: string;
  readonly key: string;
  readonly count: string;
}

/**
 * Counts one more hit of `key` in the window starting at `windowStart` (a newer window
 * starts again at 1) and answers the count, atomically, so replicas share it. The table
 * and column names are the code's own, never client text.
 */
export async function hitWindow(pool: pg.Pool, t: WindowCounterTable, key: string, windowStart: number): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `INSERT INTO ${t.table} AS t (${t.key}, window_start, ${t.count}) VALUES ($1, $2, 1)
     ON CONFLICT (${t.key}) DO UPDATE SET
       ${t.count} = CASE WHEN t.window_start = EXCLUDED.window_start THEN t.${t.count} + 1 ELSE 1 END,
       window_start = EXCLUDED.window_start
     RETURNING ${t.count} AS n`,
    [key, new Date(windowStart)],
  );
  return rows[0]!.n;
}
