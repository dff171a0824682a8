import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import type pg from "pg";
import { createPool, migrate } from "@natter/kit";
import { quietLogger, testServices, type TestServices } from "@natter/kit/testing";
import { decodeBody, InboxMessage, parse } from "@natter/protocol";
import { PgGroupStore } from "../src/adapters/pg/group-store.ts";
import { OutboxRelay } from "../src/adapters/pg/outbox-relay.ts";
import type { InboxRecord } from "../src/adapters/nats/inbox-publisher.ts";
import { changesOf } from "../src/domain/changes.ts";
import { joinGroup } from "../src/domain/rules.ts";

describe("membership events outbox", () => {
  let services: TestServices;
  let pool: pg.Pool;
  const logger = quietLogger();

  before(async () => {
    services = await testServices();
    pool = createPool(services.databaseUrl, logger);
    await migrate(pool, { schema: "grp", dir: fileURLToPath(new URL("../migrations", import.meta.url)), logger });
  });

  after(async () => {
    await pool?.end();
    await services?.cleanup();
  });

  it("keeps events whose publish failed and publishes them on the next flush, once per recipient", async () => {
    const store = new PgGroupStore(pool);
    const ann = { userId: randomUUID(), username: "ann" };
    const bob = { userId: randomUUID(), username: "bob" };
    for (const actor of [ann, bob]) {
      await store.update("omega", async (current) => {
        const t = joinGroup(current, { actor, now: Date.now(), newId: randomUUID }, "omega");
        return { changes: changesOf(current, t), notices: t.notices, result: undefined };
      });
    }

    const published: InboxRecord[] = [];
    let failing = true;
    const relay = new OutboxRelay(pool, {
      publishRecords: async (records) => {
        if (failing) throw new Error("JetStream unavailable");
        published.push(...records);
      },
    }, logger);

    await relay.flush();
    assert.equal(published.length, 0);
    assert.equal((await pool.query("SELECT count(*)::int AS n FROM grp.outbox")).rows[0].n, 2);

    failing = false;
    await relay.flush();
    const kinds = published.map((r) => [r.to === ann.userId ? "ann" : "bob", parse(InboxMessage, decodeBody(r.data)).event?.kind]);
    assert.deepEqual(kinds, [["ann", "created"], ["ann", "joined"], ["bob", "joined"]]);
    assert.ok(published.every((r) => parse(InboxMessage, decodeBody(r.data)).id === r.messageId));
    assert.equal((await pool.query("SELECT count(*)::int AS n FROM grp.outbox")).rows[0].n, 0);
    await relay.stop();
  });
});
