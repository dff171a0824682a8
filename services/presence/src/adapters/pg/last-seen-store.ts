import type pg from "pg";
import type { LastSeenStore } from "../../domain/last-seen-store.ts";
import type { SeenUser } from "../../domain/online-view.ts";

/**
 * Last-seen times in `presence.last_seen`; every replica writes the same events, so writes
 * only move forward. Writes are grouped: what arrives while one is under way goes in the
 * next, as one statement, so a reconnect storm of thousands of connects and disconnects
 * costs Postgres a few statements rather than one each.
 */
export class PgLastSeenStore implements LastSeenStore {
  private pending = new Map<string, SeenUser>();
  private waiting: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  private writing = false;

  constructor(private readonly pool: pg.Pool) {}

  record(seen: readonly SeenUser[]): Promise<void> {
    for (const s of seen) if ((this.pending.get(s.userId)?.seenAt ?? -1) < s.seenAt) this.pending.set(s.userId, s);
    if (this.pending.size === 0) return Promise.resolve();
    const written = new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
    if (!this.writing) void this.writeAll();
    return written;
  }

  private async writeAll(): Promise<void> {
    this.writing = true;
    while (this.pending.size > 0) {
      const batch = this.pending;
      const waiting = this.waiting;
      this.pending = new Map();
      this.waiting = [];
      try {
        await this.write([...batch.values()]);
        for (const w of waiting) w.resolve();
      } catch (error) {
        for (const w of waiting) w.reject(error);
      }
    }
    this.writing = false;
  }

  private async write(seen: SeenUser[]): Promise<void> {
    // One row per user (an upsert may touch a row once), in id order so that replicas
    // writing the same batch at once take row locks in the same order.
    const rows = seen.sort((a, b) => (a.userId < b.userId ? -1 : 1));
    await this.pool.query(
      `INSERT INTO presence.last_seen AS t (user_id, username, seen_at)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[])
       ON CONFLICT (user_id) DO UPDATE SET username = EXCLUDED.username, seen_at = EXCLUDED.seen_at
        WHERE t.seen_at < EXCLUDED.seen_at`,
      [rows.map((r) => r.userId), rows.map((r) => r.username), rows.map((r) => new Date(r.seenAt))],
    );
  }

  async seenSince(since: number): Promise<SeenUser[]> {
    const { rows } = await this.pool.query<{ user_id: string; username: string; seen_at: Date }>(
      "SELECT user_id, username, seen_at FROM presence.last_seen WHERE seen_at >= $1",
      [new Date(since)],
    );
    return rows.map((r) => ({ userId: r.user_id, username: r.username, seenAt: r.seen_at.getTime() }));
  }
}
