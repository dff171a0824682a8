import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { createPool, migrate } from "@natter/kit";
import { quietLogger, testServices, type TestServices } from "@natter/kit/testing";

describe("migrate", () => {
  let services: TestServices;
  let pool: pg.Pool;
  let dir: string;
  const logger = quietLogger();

  before(async () => {
    services = await testServices();
    pool = createPool(services.databaseUrl, logger);
    dir = await mkdtemp(join(tmpdir(), "natter-migrate-"));
    // Not idempotent on purpose: running it twice would fail.
    await writeFile(join(dir, "001_init.sql"), "CREATE TABLE things (id int PRIMARY KEY); INSERT INTO things VALUES (1);");
    await writeFile(join(dir, "002_more.sql"), "INSERT INTO things VALUES (2);");
    await writeFile(join(dir, "README.md"), "not a migration");
  });

  after(async () => {
    await pool?.end();
    await rm(dir, { recursive: true, force: true });
    await services?.cleanup();
  });

  it("applies each file once even when two replicas start together", async () => {
    await Promise.all([migrate(pool, { schema: "kit_a", dir, logger }), migrate(pool, { schema: "kit_a", dir, logger })]);
    await migrate(pool, { schema: "kit_a", dir, logger });
    const things = await pool.query("SELECT id FROM kit_a.things ORDER BY id");
    assert.deepEqual(things.rows.map((r) => r.id), [1, 2]);
    const applied = await pool.query("SELECT version, name FROM kit_a.migrations ORDER BY version");
    assert.deepEqual(applied.rows, [{ version: 1, name: "001_init.sql" }, { version: 2, name: "002_more.sql" }]);
  });

  it("rolls back a failing file and records nothing for it", async () => {
    const bad = await mkdtemp(join(tmpdir(), "natter-migrate-"));
    try {
      await writeFile(join(bad, "001_ok.sql"), "CREATE TABLE t (id int);");
      await writeFile(join(bad, "002_bad.sql"), "INSERT INTO t VALUES (1); SELECT * FROM no_such_table;");
      await assert.rejects(migrate(pool, { schema: "kit_b", dir: bad, logger }), /002_bad\.sql failed/);
      const rows = await pool.query("SELECT count(*)::int AS n FROM kit_b.t");
      assert.equal(rows.rows[0].n, 0);
      const applied = await pool.query("SELECT version FROM kit_b.migrations");
      assert.deepEqual(applied.rows, [{ version: 1 }]);
    } finally {
      await rm(bad, { recursive: true, force: true });
    }
  });

  it("refuses an applied file that was edited", async () => {
    await writeFile(join(dir, "002_more.sql"), "INSERT INTO things VALUES (3);");
    await assert.rejects(migrate(pool, { schema: "kit_a", dir, logger }), /changed after it was applied/);
  });
});
