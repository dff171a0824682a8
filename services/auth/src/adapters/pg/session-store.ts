import type pg from "pg";
import type { NewSession, SessionStore } from "../../domain/session-store.ts";

/** Sessions in `auth.sessions`; refresh tokens only as their digests. */
export class PgSessionStore implements SessionStore {
  constructor(private readonly pool: pg.Pool) {}

  async create(s: NewSession): Promise<void> {
    await this.pool.query(
      `INSERT INTO auth.sessions (sid, user_id, refresh_hash, created_at, refreshed_at, refresh_expires_at)
       VALUES ($1, $2, $3, $4, $4, $5)`,
      [s.sid, s.userId, s.refreshHash, new Date(s.createdAt), new Date(s.refreshExpiresAt)],
    );
  }

  async rotate(oldHash: string, newHash: string, now: number, refreshExpiresAt: number) {
    const { rows } = await this.pool.query<{ sid: string; user_id: string; username: string }>(
      `UPDATE auth.sessions s
          SET refresh_hash = $2, refreshed_at = $3, refresh_expires_at = $4
         FROM auth.accounts a
        WHERE s.refresh_hash = $1 AND s.revoked_at IS NULL AND s.refresh_expires_at > $3 AND a.id = s.user_id
       RETURNING s.sid, s.user_id, a.username`,
      [oldHash, newHash, new Date(now), new Date(refreshExpiresAt)],
    );
    const row = rows[0];
    return row && { sid: row.sid, userId: row.user_id, username: row.username };
  }

  async revoke(sid: string, now: number): Promise<void> {
    await this.pool.query("UPDATE auth.sessions SET revoked_at = $2 WHERE sid = $1 AND revoked_at IS NULL", [sid, new Date(now)]);
  }

  async isActive(sid: string, now: number): Promise<boolean> {
    const { rows } = await this.pool.query(
      "SELECT 1 FROM auth.sessions WHERE sid = $1 AND revoked_at IS NULL AND refresh_expires_at > $2",
      [sid, new Date(now)],
    );
    return rows.length > 0;
  }
}
