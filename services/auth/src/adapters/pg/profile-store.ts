import type pg from "pg";
import type { ProfileStore } from "../../domain/profile-store.ts";

/** Encrypted profiles in `auth.profiles`. */
export class PgProfileStore implements ProfileStore {
  constructor(private readonly pool: pg.Pool) {}

  async put(userId: string, blob: string, at: number): Promise<boolean> {
    // Inserting through a SELECT from accounts stores nothing, and says so, for an unknown user.
    const { rowCount } = await this.pool.query(
      `INSERT INTO auth.profiles (user_id, blob, updated_at)
       SELECT id, $2, $3 FROM auth.accounts WHERE id = $1
       ON CONFLICT (user_id) DO UPDATE SET blob = EXCLUDED.blob, updated_at = EXCLUDED.updated_at`,
      [userId, blob, new Date(at)],
    );
    return rowCount === 1;
  }

  async get(userId: string): Promise<string | null | undefined> {
    const { rows } = await this.pool.query<{ blob: string | null }>(
      "SELECT p.blob FROM auth.accounts a LEFT JOIN auth.profiles p ON p.user_id = a.id WHERE a.id = $1",
      [userId],
    );
    return rows[0] === undefined ? undefined : rows[0].blob;
  }
}
