import type pg from "pg";
import type { NewSession, Rotation, SessionStore, SessionSummary } from "../../domain/session-store.ts";

/** Sessions in `auth.sessions`; refresh tokens only as their digests, spent ones in `auth.spent_refresh_tokens`. */
export class PgSessionStore implements SessionStore {
  constructor(private readonly pool: pg.Pool) {}

  async create(s: NewSession): Promise<void> {
    await this.pool.query(
      `INSERT INTO auth.sessions (sid, user_id, refresh_hash, created_at, refreshed_at, refresh_expires_at, expires_at, addr, last_addr)
       VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $7)`,
      [s.sid, s.userId, s.refreshHash, new Date(s.createdAt), new Date(Math.min(s.refreshExpiresAt, s.expiresAt)), new Date(s.expiresAt), s.addr],
    );
  }

  async rotate(oldHash: string, newHash: string, now: number, refreshExpiresAt: number, addr: string | undefined): Promise<Rotation> {
    // One statement: of two uses of one token, exactly one finds it current; the other
    // then finds it spent.
    const { rows } = await this.pool.query<{ sid: string; user_id: string; username: string }>(
      `WITH rotated AS (
         UPDATE auth.sessions s
            SET refresh_hash = $2, refreshed_at = $3, refresh_expires_at = LEAST($4, s.expires_at), last_addr = COALESCE($5, s.last_addr)
           FROM auth.accounts a
          WHERE s.refresh_hash = $1 AND s.revoked_at IS NULL AND s.refresh_expires_at > $3 AND s.expires_at > $3 AND a.id = s.user_id
         RETURNING s.sid, s.user_id, a.username
       ), spent AS (
         INSERT INTO auth.spent_refresh_tokens (hash, sid, spent_at) SELECT $1, sid, $3 FROM rotated
       )
       SELECT sid, user_id, username FROM rotated`,
      [oldHash, newHash, new Date(now), new Date(refreshExpiresAt), addr ?? null],
    );
    const row = rows[0];
    if (row) return { outcome: "rotated", sid: row.sid, userId: row.user_id, username: row.username };
    const reused = await this.pool.query<{ sid: string }>(
      `UPDATE auth.sessions s SET revoked_at = COALESCE(s.revoked_at, $2)
         FROM auth.spent_refresh_tokens t
        WHERE t.hash = $1 AND s.sid = t.sid
       RETURNING s.sid`,
      [oldHash, new Date(now)],
    );
    const sid = reused.rows[0]?.sid;
    return sid === undefined ? { outcome: "unknown" } : { outcome: "reused", sid };
  }

  async revoke(sid: string, now: number): Promise<void> {
    await this.pool.query("UPDATE auth.sessions SET revoked_at = $2 WHERE sid = $1 AND revoked_at IS NULL", [sid, new Date(now)]);
  }

  async revokeOthers(userId: string, keep: string, now: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ sid: string }>(
      `UPDATE auth.sessions SET revoked_at = $2
        WHERE user_id = $1 AND sid <> $3 AND revoked_at IS NULL AND expires_at > $2 AND refresh_expires_at > $2
       RETURNING sid`,
      [userId, new Date(now), keep],
    );
    return rows.map((r) => r.sid);
  }

  async revokeOne(userId: string, sid: string, now: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE auth.sessions SET revoked_at = $2
        WHERE user_id = $1 AND sid = $3 AND revoked_at IS NULL AND expires_at > $2 AND refresh_expires_at > $2`,
      [userId, new Date(now), sid],
    );
    return rowCount === 1;
  }

  async list(userId: string, now: number): Promise<SessionSummary[]> {
    const { rows } = await this.pool.query<{ sid: string; addr: string; last_addr: string; created_at: Date; refreshed_at: Date; expires_at: Date }>(
      `SELECT sid, addr, last_addr, created_at, refreshed_at, expires_at FROM auth.sessions
        WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND refresh_expires_at > $2
        ORDER BY created_at, sid`,
      [userId, new Date(now)],
    );
    return rows.map((r) => ({
      sid: r.sid, addr: r.addr, lastAddr: r.last_addr,
      startedAt: r.created_at.getTime(), lastSeenAt: r.refreshed_at.getTime(), expiresAt: r.expires_at.getTime(),
    }));
  }

  /**
   * Forgets sessions that ended (revoked or expired) before `before`, and with them the
   * refresh tokens they spent; until then a spent token still ends nothing new but is known.
   */
  async prune(before: number): Promise<number> {
    const { rowCount } = await this.pool.query(
      "DELETE FROM auth.sessions WHERE revoked_at < $1 OR refresh_expires_at < $1 OR expires_at < $1",
      [new Date(before)],
    );
    return rowCount ?? 0;
  }

  async isActive(sid: string, now: number): Promise<boolean> {
    // Written at most once a minute a session: edges ask again only when their answer expires.
    const { rows } = await this.pool.query(
      `WITH live AS (
         SELECT sid, refreshed_at FROM auth.sessions
          WHERE sid = $1 AND revoked_at IS NULL AND refresh_expires_at > $2 AND expires_at > $2
       ), seen AS (
         UPDATE auth.sessions s SET refreshed_at = $2 FROM live
          WHERE s.sid = live.sid AND live.refreshed_at < $2 - interval '1 minute'
       )
       SELECT 1 FROM live`,
      [sid, new Date(now)],
    );
    return rows.length > 0;
  }
}
