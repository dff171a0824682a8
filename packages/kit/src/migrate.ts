import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type pg from "pg";
import type { Logger } from "./logger.ts";

const FILE = /^(\d{3})_[A-Za-z0-9_-]+\.sql$/;
const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Applies `<dir>/NNN_name.sql` in order, each once and in its own transaction, with
 * `search_path` set to `schema` (created if missing). Applied files are recorded in
 * `<schema>.migrations` with a checksum; an edited applied file fails loudly. A
 * Postgres advisory lock per schema lets replicas start together.
 */
export async function migrate(pool: pg.Pool, opts: { schema: string; dir: string; logger: Logger }): Promise<void> {
  const { schema, dir } = opts;
  if (!SCHEMA.test(schema)) throw new Error(`invalid schema name ${JSON.stringify(schema)}`);
  const log = opts.logger.child({ module: "migrate", schema });
  const files = (await readdir(dir)).filter((f) => FILE.test(f)).sort();
  const versions = new Set<string>();
  for (const file of files) {
    const version = FILE.exec(file)![1]!;
    if (versions.has(version)) throw new Error(`two migrations numbered ${version} in ${dir}`);
    versions.add(version);
  }

  const client = await pool.connect();
  const lockKey = `natter.migrate.${schema}`;
  // A client whose unlock failed still holds the session lock: destroy it, never pool it.
  let broken: Error | undefined;
  try {
    await client.query("SELECT pg_advisory_lock(hashtextextended($1, 0))", [lockKey]);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS "${schema}".migrations (
           version int PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const applied = new Map<number, { name: string; checksum: string }>();
      const rows = await client.query<{ version: number; name: string; checksum: string }>(
        `SELECT version, name, checksum FROM "${schema}".migrations`,
      );
      for (const row of rows.rows) applied.set(row.version, row);

      for (const file of files) {
        const version = Number(FILE.exec(file)![1]);
        const sql = await readFile(join(dir, file), "utf8");
        const checksum = createHash("sha256").update(sql).digest("hex");
        const done = applied.get(version);
        if (done) {
          if (done.checksum !== checksum) throw new Error(`migration ${file} changed after it was applied to schema ${schema}`);
          continue;
        }
        await client.query("BEGIN");
        try {
          await client.query(`SET LOCAL search_path TO "${schema}", public`);
          await client.query(sql);
          await client.query(`INSERT INTO "${schema}".migrations (version, name, checksum) VALUES ($1, $2, $3)`, [version, file, checksum]);
          await client.query("COMMIT");
        } catch (err) {
          await client.query("ROLLBACK");
          throw new Error(`migration ${file} failed`, { cause: err });
        }
        log.info({ file }, "migration applied");
      }
    } finally {
      await client.query("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [lockKey]).catch((err: Error) => {
        broken = err;
      });
    }
  } finally {
    client.release(broken);
  }
}
