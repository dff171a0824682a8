import type pg from "pg";
import type { SignedPrekey } from "@natter/protocol";
import type { PrekeyBundle } from "@natter/protocol";
import type { Account, AccountStore, ClaimedBundle, NewAccount, PrekeyCounts, PrekeyUpload, PublicIdentity } from "../../domain/account-store.ts";

const UNIQUE_VIOLATION = "23505";
const FOREIGN_KEY_VIOLATION = "23503";

function pgCode(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err ? String((err as { code: unknown }).code) : undefined;
}

/** Accounts, device keys, one-time prekeys (curve and KEM) and backups in schema `auth`. */
export class PgAccountStore implements AccountStore {
  constructor(private readonly pool: pg.Pool) {}

  async create(a: NewAccount): Promise<"created" | "taken"> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const at = new Date(a.createdAt);
      const inserted = await client.query(
        `INSERT INTO auth.accounts (id, username, password_hash, salt, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (username) DO NOTHING`,
        [a.id, a.username, a.passwordHash, a.salt, at],
      );
      if (inserted.rowCount === 0) {
        await client.query("ROLLBACK");
        return "taken";
      }
      const b = a.bundle;
      const kem = b.kemLastResortPrekey;
      await client.query(
        `INSERT INTO auth.device_keys (user_id, identity_key, identity_dh_key, identity_dh_signature,
           signed_prekey_id, signed_prekey, signed_prekey_signature, updated_at,
           kem_last_resort_id, kem_last_resort, kem_last_resort_signature)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [a.id, b.identityKey, b.identityDhKey, b.identityDhSignature, b.signedPrekey.id, b.signedPrekey.publicKey, b.signedPrekey.signature, at,
          kem?.id ?? null, kem?.publicKey ?? null, kem?.signature ?? null],
      );
      await insertPrekeys(client, "one_time_prekeys", a.id, b.oneTimePrekeys);
      await insertPrekeys(client, "kem_prekeys", a.id, b.kemOneTimePrekeys ?? []);
      await client.query("INSERT INTO auth.key_backups (user_id, backup, updated_at) VALUES ($1, $2, $3)", [a.id, a.backup, at]);
      await client.query("COMMIT");
      return "created";
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      if (pgCode(err) === UNIQUE_VIOLATION) return "taken";
      throw err;
    } finally {
      client.release();
    }
  }

  async findByName(username: string): Promise<Account | undefined> {
    const { rows } = await this.pool.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM auth.accounts WHERE username = $1`, [username]);
    return rows[0] && toAccount(rows[0]);
  }

  async findById(userId: string): Promise<Account | undefined> {
    const { rows } = await this.pool.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM auth.accounts WHERE id = $1`, [userId]);
    return rows[0] && toAccount(rows[0]);
  }

  async changePassword(userId: string, change: { salt: string; passwordHash: string; backup: string; at: number }): Promise<boolean> {
    // One statement: the backup sealed under the new key never sits beside the old secret.
    const { rowCount } = await this.pool.query(
      `WITH account AS (
         UPDATE auth.accounts SET salt = $2, password_hash = $3 WHERE id = $1 RETURNING id
       )
       INSERT INTO auth.key_backups (user_id, backup, updated_at) SELECT id, $4, $5 FROM account
       ON CONFLICT (user_id) DO UPDATE SET backup = EXCLUDED.backup, updated_at = EXCLUDED.updated_at`,
      [userId, change.salt, change.passwordHash, change.backup, new Date(change.at)],
    );
    return rowCount === 1;
  }

  async publicIdentity(username: string): Promise<PublicIdentity | undefined> {
    const { rows } = await this.pool.query<{ id: string; username: string; identity_key: string }>(
      `SELECT a.id, a.username, k.identity_key
         FROM auth.accounts a JOIN auth.device_keys k ON k.user_id = a.id WHERE a.username = $1`,
      [username],
    );
    const row = rows[0];
    return row && { userId: row.id, username: row.username, identityKey: row.identity_key };
  }

  async claimBundle(username: string, withOneTimePrekey = true): Promise<ClaimedBundle | undefined> {
    // One statement: pick an unclaimed prekey of each kind, skipping rows other claims hold, and delete them.
    const { rows } = await this.pool.query<BundleRow>(
      `WITH owner AS (
         SELECT a.id, a.username, k.identity_key, k.identity_dh_key, k.identity_dh_signature,
                k.signed_prekey_id, k.signed_prekey, k.signed_prekey_signature,
                k.kem_last_resort_id, k.kem_last_resort, k.kem_last_resort_signature
           FROM auth.accounts a JOIN auth.device_keys k ON k.user_id = a.id
          WHERE a.username = $1
       ), claimed AS (
         DELETE FROM auth.one_time_prekeys
          WHERE (user_id, key_id) = (
            SELECT user_id, key_id FROM auth.one_time_prekeys
             WHERE user_id = (SELECT id FROM owner) AND $2
             ORDER BY key_id LIMIT 1
             FOR UPDATE SKIP LOCKED)
         RETURNING key_id, public_key, signature
       ), kem_claimed AS (
         DELETE FROM auth.kem_prekeys
          WHERE (user_id, key_id) = (
            SELECT user_id, key_id FROM auth.kem_prekeys
             WHERE user_id = (SELECT id FROM owner) AND $2
             ORDER BY key_id LIMIT 1
             FOR UPDATE SKIP LOCKED)
         RETURNING key_id, public_key, signature
       )
       SELECT owner.*, claimed.key_id, claimed.public_key, claimed.signature,
              kem_claimed.key_id AS kem_key_id, kem_claimed.public_key AS kem_public_key, kem_claimed.signature AS kem_signature
         FROM owner LEFT JOIN claimed ON true LEFT JOIN kem_claimed ON true`,
      [username, withOneTimePrekey],
    );
    const row = rows[0];
    if (!row) return undefined;
    const signedPrekey = { id: Number(row.signed_prekey_id), publicKey: row.signed_prekey, signature: row.signed_prekey_signature };
    const bundle: PrekeyBundle = { v: 1, identityKey: row.identity_key, identityDhKey: row.identity_dh_key, identityDhSignature: row.identity_dh_signature, signedPrekey };
    if (row.key_id !== null) bundle.oneTimePrekey = { id: Number(row.key_id), publicKey: row.public_key!, signature: row.signature! };
    if (row.kem_last_resort_id !== null) {
      bundle.kemLastResortPrekey = { id: Number(row.kem_last_resort_id), publicKey: row.kem_last_resort!, signature: row.kem_last_resort_signature! };
    }
    if (row.kem_key_id !== null) bundle.kemOneTimePrekey = { id: Number(row.kem_key_id), publicKey: row.kem_public_key!, signature: row.kem_signature! };
    return { userId: row.id, username: row.username, bundle };
  }

  async addPrekeys(userId: string, keys: PrekeyUpload, replace = false): Promise<PrekeyCounts | undefined> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      if (replace) {
        await client.query("DELETE FROM auth.one_time_prekeys WHERE user_id = $1", [userId]);
        await client.query("DELETE FROM auth.kem_prekeys WHERE user_id = $1", [userId]);
      }
      await insertPrekeys(client, "one_time_prekeys", userId, keys.curve);
      await insertPrekeys(client, "kem_prekeys", userId, keys.kem);
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      if (pgCode(err) === FOREIGN_KEY_VIOLATION) return undefined;
      throw err;
    } finally {
      client.release();
    }
    const { rows } = await this.pool.query<{ exists: boolean; count: number; kem_count: number; kem_last_resort: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM auth.accounts WHERE id = $1) AS exists,
              (SELECT count(*)::int FROM auth.one_time_prekeys WHERE user_id = $1) AS count,
              (SELECT count(*)::int FROM auth.kem_prekeys WHERE user_id = $1) AS kem_count,
              EXISTS (SELECT 1 FROM auth.device_keys WHERE user_id = $1 AND kem_last_resort IS NOT NULL) AS kem_last_resort`,
      [userId],
    );
    const row = rows[0]!;
    return row.exists ? { count: row.count, kemCount: row.kem_count, kemLastResort: row.kem_last_resort } : undefined;
  }

  async setSignedPrekey(userId: string, key: SignedPrekey, at: number, kemLastResort?: SignedPrekey): Promise<boolean> {
    // Without a new last-resort KEM prekey the stored one stays.
    const { rowCount } = await this.pool.query(
      `UPDATE auth.device_keys SET signed_prekey_id = $2, signed_prekey = $3, signed_prekey_signature = $4, updated_at = $5,
              kem_last_resort_id = COALESCE($6, kem_last_resort_id),
              kem_last_resort = COALESCE($7, kem_last_resort),
              kem_last_resort_signature = COALESCE($8, kem_last_resort_signature)
        WHERE user_id = $1`,
      [userId, key.id, key.publicKey, key.signature, new Date(at), kemLastResort?.id ?? null, kemLastResort?.publicKey ?? null, kemLastResort?.signature ?? null],
    );
    return rowCount === 1;
  }

  async putBackup(userId: string, backup: string, at: number): Promise<boolean> {
    try {
      await this.pool.query(
        `INSERT INTO auth.key_backups (user_id, backup, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO UPDATE SET backup = EXCLUDED.backup, updated_at = EXCLUDED.updated_at`,
        [userId, backup, new Date(at)],
      );
      return true;
    } catch (err) {
      if (pgCode(err) === FOREIGN_KEY_VIOLATION) return false;
      throw err;
    }
  }

  async getBackup(userId: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ backup: string }>("SELECT backup FROM auth.key_backups WHERE user_id = $1", [userId]);
    return rows[0]?.backup;
  }
}

const ACCOUNT_COLUMNS = "id, username, password_hash, salt";

interface AccountRow {
  id: string;
  username: string;
  password_hash: string;
  salt: string | null;
}

function toAccount(row: AccountRow): Account {
  return {
    id: row.id,
    username: row.username,
    passwordHash: row.password_hash,
    salt: row.salt ?? undefined,
  };
}

interface BundleRow {
  id: string;
  username: string;
  identity_key: string;
  identity_dh_key: string;
  identity_dh_signature: string;
  signed_prekey_id: string;
  signed_prekey: string;
  signed_prekey_signature: string;
  key_id: string | null;
  public_key: string | null;
  signature: string | null;
  kem_last_resort_id: string | null;
  kem_last_resort: string | null;
  kem_last_resort_signature: string | null;
  kem_key_id: string | null;
  kem_public_key: string | null;
  kem_signature: string | null;
}

async function insertPrekeys(
  db: pg.Pool | pg.PoolClient,
  table: "one_time_prekeys" | "kem_prekeys",
  userId: string,
  keys: readonly SignedPrekey[],
): Promise<void> {
  if (keys.length === 0) return;
  // A re-uploaded id replaces the old key: the client has replaced its private half too.
  await db.query(
    `INSERT INTO auth.${table} (user_id, key_id, public_key, signature)
     SELECT $1, k.id, k.public_key, k.signature
       FROM unnest($2::bigint[], $3::text[], $4::text[]) AS k (id, public_key, signature)
     ON CONFLICT (user_id, key_id) DO UPDATE SET public_key = EXCLUDED.public_key, signature = EXCLUDED.signature`,
    [userId, keys.map((k) => k.id), keys.map((k) => k.publicKey), keys.map((k) => k.signature)],
  );
}
