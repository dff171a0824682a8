import type pg from "pg";
import type { BlockStore } from "../../domain/block-store.ts";

/** Blocks in `auth.blocks`. */
export class PgBlockStore implements BlockStore {
  constructor(private readonly pool: pg.Pool) {}

  async block(blocker: string, blocked: string, at: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      "INSERT INTO auth.blocks (blocker, blocked, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
      [blocker, blocked, new Date(at)],
    );
    return rowCount === 1;
  }

  async unblock(blocker: string, blocked: string): Promise<boolean> {
    const { rowCount } = await this.pool.query("DELETE FROM auth.blocks WHERE blocker = $1 AND blocked = $2", [blocker, blocked]);
    return rowCount === 1;
  }

  async blocksOf(userId: string): Promise<{ blocking: string[]; blockedBy: string[] }> {
    const { rows } = await this.pool.query<{ blocker: string; blocked: string }>(
      "SELECT blocker, blocked FROM auth.blocks WHERE blocker = $1 OR blocked = $1 ORDER BY created_at, blocker, blocked",
      [userId],
    );
    return {
      blocking: rows.filter((r) => r.blocker === userId).map((r) => r.blocked),
      blockedBy: rows.filter((r) => r.blocked === userId).map((r) => r.blocker),
    };
  }

  async eitherBlocks(a: string, b: string): Promise<boolean> {
    const { rows } = await this.pool.query(
      "SELECT 1 FROM auth.blocks WHERE (blocker = $1 AND blocked = $2) OR (blocker = $2 AND blocked = $1) LIMIT 1",
      [a, b],
    );
    return rows.length > 0;
  }
}
