/** Sessions in Postgres: refresh tokens rotate atomically, a spent one ends its session, ended sessions are pruned. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { quietLogger, testServices, type TestServices } from "@natter/kit/testing";
import { PgSessionStore } from "../src/adapters/pg/session-store.ts";
import { generateSigningKey, loadAuthConfig, startAuth, type RunningAuth } from "../src/index.ts";

const T0 = Date.UTC(2031, 2, 1);
const DAY = 86_400_000;

describe("sessions in Postgres", () => {
  let services: TestServices;
  let running: RunningAuth;
  let pool: pg.Pool;
  let store: PgSessionStore;
  let userId: string;

  before(async () => {
    services = await testServices();
    // Started for its migrations.
    running = await startAuth(loadAuthConfig({
      NATS_URL: services.natsUrl, DATABASE_URL: services.databaseUrl, NATTER_NAMESPACE: services.namespace,
      AUTH_JWT_KEYS: JSON.stringify([await generateSigningKey()]), AUTH_BCRYPT_COST: "4", NODE_ENV: "test",
    }), { logger: quietLogger("auth") });
    pool = new pg.Pool({ connectionString: services.databaseUrl, max: 10 });
    // The pool's end lets its clients go before their connections have closed, and the
    // database is dropped right after: a connection ended by that drop must not throw.
    pool.on("connect", (client) => client.on("error", () => undefined));
    store = new PgSessionStore(pool);
    userId = randomUUID();
    await pool.query("INSERT INTO auth.accounts (id, username, password_hash, created_at) VALUES ($1, 'sam', 'x', $2)", [userId, new Date(T0)]);
  });

  after(async () => {
    await pool?.end();
    await running?.close();
    await services?.cleanup();
  });

  const open = async (hash: string, at = T0) => {
    const sid = randomUUID();
    await store.create({ sid, userId, refreshHash: hash, createdAt: at, refreshExpiresAt: at + 30 * DAY, expiresAt: at + 90 * DAY, addr: "10.0.0.1" });
    return sid;
  };

  it("lets exactly one of two concurrent uses of a token rotate it, and the other ends the session", async () => {
    const sid = await open("h-race");
    const outcomes = await Promise.all([
      store.rotate("h-race", "h-race-a", T0 + 1000, T0 + 31 * DAY, "10.0.0.2"),
      store.rotate("h-race", "h-race-b", T0 + 1000, T0 + 31 * DAY, "10.0.0.3"),
    ]);
    assert.deepEqual(outcomes.map((o) => o.outcome).sort(), ["reused", "rotated"]);
    assert.equal(await store.isActive(sid, T0 + 2000), false);
  });

  it("never carries a session past its absolute end, and lists where it was last refreshed from", async () => {
    const sid = await open("h-long");
    // Refreshed every 25 days, each time for 30 more: the last would reach day 105.
    for (const [day, from, to] of [[25, "h-long", "h-long-1"], [50, "h-long-1", "h-long-0"], [75, "h-long-0", "h-long-2"]] as const) {
      assert.equal((await store.rotate(from, to, T0 + day * DAY, T0 + (day + 30) * DAY, "10.0.0.9")).outcome, "rotated");
    }
    const [listed] = (await store.list(userId, T0 + 80 * DAY)).filter((s) => s.sid === sid);
    assert.deepEqual([listed?.addr, listed?.lastAddr, listed?.lastSeenAt], ["10.0.0.1", "10.0.0.9", T0 + 75 * DAY]);
    assert.equal(await store.isActive(sid, T0 + 89 * DAY), true);
    const [resumed] = (await store.list(userId, T0 + 89 * DAY)).filter((s) => s.sid === sid);
    assert.equal(resumed?.lastSeenAt, T0 + 89 * DAY, "a resume counts as seen");
    assert.equal(await store.isActive(sid, T0 + 90 * DAY - 1), true);
    assert.equal(await store.isActive(sid, T0 + 90 * DAY), false);
    assert.deepEqual(await store.rotate("h-long-2", "h-long-3", T0 + 91 * DAY, T0 + 121 * DAY, undefined), { outcome: "unknown" });
  });

  it("forgets ended sessions and the tokens they spent", async () => {
    const ended = await open("h-old");
    await store.rotate("h-old", "h-old-2", T0 + 1000, T0 + 30 * DAY, undefined);
    await store.revoke(ended, T0 + 2000);
    const live = await open("h-live");
    assert.ok((await store.prune(T0 + 3000)) >= 1);
    const { rows } = await pool.query<{ sid: string }>("SELECT sid FROM auth.sessions WHERE sid = ANY($1)", [[ended, live]]);
    assert.deepEqual(rows.map((r) => r.sid), [live]);
    const spent = await pool.query("SELECT 1 FROM auth.spent_refresh_tokens WHERE hash = 'h-old'");
    assert.equal(spent.rowCount, 0);
  });
});
