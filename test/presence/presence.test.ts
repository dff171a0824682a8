import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import pg from "pg";
import {
  AuthApi, PresenceApi, PresenceSync, names, parse,
  type EdgeHeartbeat, type PresenceEvent, type PresenceOnline, type PublicBundle,
} from "@natter/protocol";
import { call, connectNats, type NatsConnection } from "@natter/kit";
import { quietLogger, testServices, type TestServices } from "@natter/kit/testing";
import { generateSigningKey, loadAuthConfig, startAuth, type RunningAuth } from "@natter/auth";
import { loadPresenceConfig, startPresence, type RunningPresence } from "@natter/presence";

const EDGE_TIMEOUT_MS = 1000;
const BEAT_MS = 200;
const b64 = (n = 32) => randomBytes(n).toString("base64url");
const bundle = (): PublicBundle => ({
  v: 1, identityKey: b64(), identityDhKey: b64(), identityDhSignature: b64(64),
  signedPrekey: { id: 1, publicKey: b64(), signature: b64(64) }, oneTimePrekeys: [],
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface User { userId: string; username: string }

describe("presence over NATS", () => {
  let services: TestServices;
  let auth: RunningAuth;
  let first: RunningPresence | undefined;
  let second: RunningPresence | undefined;
  let nc: NatsConnection;
  let n: ReturnType<typeof names>;
  let beating: NodeJS.Timeout;
  const users = {} as Record<"ann" | "ben" | "cat" | "dan", User>;
  /** What the fake edges have connected, and which of them still heartbeat. */
  const connected = new Map<string, Map<string, User>>();
  const live = new Map<string, number>();
  const presenceConfig = (warmupMs: number) => loadPresenceConfig({
    NATS_URL: services.natsUrl,
    DATABASE_URL: services.databaseUrl,
    NATTER_NAMESPACE: services.namespace,
    PRESENCE_EDGE_TIMEOUT_MS: String(EDGE_TIMEOUT_MS),
    PRESENCE_WARMUP_MS: String(warmupMs),
  });

  // ---- playing the edges ------------------------------------------------------------
  const beat = (edge: string) => {
    const heartbeat: EdgeHeartbeat = { edge, address: `127.0.0.1:${7400 + live.get(edge)!}`, connections: connected.get(edge)?.size ?? 0, draining: false, at: Date.now() };
    nc.publish(n.edgeHeartbeat, JSON.stringify(heartbeat));
  };
  const startEdge = (edge: string, port: number) => {
    live.set(edge, port);
    connected.set(edge, new Map());
    beat(edge);
  };
  const event = (t: PresenceEvent["t"], user: User, edge: string) => {
    if (t === "connect") connected.get(edge)!.set(user.userId, user);
    else connected.get(edge)!.delete(user.userId);
    const ev: PresenceEvent = { t, ...user, edge, at: Date.now() };
    nc.publish(n.presenceEvents, JSON.stringify(ev));
  };

  const who = async (user: User, lastHour = false) => {
    // The events went out first on this connection, so presence has applied them.
    const { users: list } = await call(nc, n.presence("who"), PresenceApi.who, { userId: user.userId, lastHour });
    return list.map((u) => (u.online ? u.username : `${u.username} (seen)`));
  };

  before(async () => {
    services = await testServices();
    n = names(services.namespace);
    auth = await startAuth(loadAuthConfig({
      NATS_URL: services.natsUrl,
      DATABASE_URL: services.databaseUrl,
      NATTER_NAMESPACE: services.namespace,
      AUTH_JWT_KEYS: JSON.stringify([await generateSigningKey()]),
      AUTH_BCRYPT_COST: "4",
      NODE_ENV: "test",
    }), { logger: quietLogger("auth") });
    first = await startPresence(presenceConfig(0), { logger: quietLogger("presence-1") });
    nc = await connectNats({ servers: services.natsUrl, name: "presence-test", logger: quietLogger() });
    for (const username of ["ann", "ben", "cat", "dan"] as const) {
      const grant = await call(nc, n.auth("register"), AuthApi.register, { username, salt: b64(16), secret: b64(32), bundle: bundle(), backup: b64(100), addr: "pt" });
      users[username] = { userId: grant.userId, username };
    }
    beating = setInterval(() => { for (const edge of live.keys()) beat(edge); }, BEAT_MS);
    startEdge("edge-1", 0);
    startEdge("edge-2", 1);
  });

  after(async () => {
    clearInterval(beating);
    await nc?.close();
    await first?.close();
    await second?.close();
    await auth?.close();
    await services?.cleanup();
  });

  it("lists who connected, leaving out the asker, until they disconnect", async () => {
    const { ann, ben, cat } = users;
    event("connect", ann, "edge-1");
    event("connect", ben, "edge-1");
    event("connect", cat, "edge-2");
    assert.deepEqual(await who(ann), ["ben", "cat"]);
    assert.deepEqual(await who(cat), ["ann", "ben"]);
    event("disconnect", ben, "edge-1");
    assert.deepEqual(await who(ann), ["cat"]);
  });

  it("adds those seen within the last hour when asked", async () => {
    const { ann, ben } = users;
    const before = Date.now();
    const { users: list } = await call(nc, n.presence("who"), PresenceApi.who, { userId: ann.userId, lastHour: true });
    assert.deepEqual(list.map((u) => [u.username, u.online]), [["ben", false], ["cat", true]]);
    const seen = list.find((u) => u.userId === ben.userId)!.lastSeen!;
    assert.ok(seen <= before && before - seen < 10_000, "ben was seen when he disconnected");
    assert.equal(list.find((u) => u.username === "cat")!.lastSeen, null);
  });

  it("hides users across a block, both ways", async () => {
    const { ann, ben, cat } = users;
    event("connect", ben, "edge-2");
    await call(nc, n.auth("block"), AuthApi.block, { userId: ann.userId, username: "ben" });
    assert.deepEqual(await who(ann, true), ["cat"]);
    assert.deepEqual(await who(ben, true), ["cat"]);
    assert.deepEqual(await who(cat), ["ann", "ben"]);
    await call(nc, n.auth("unblock"), AuthApi.unblock, { userId: ann.userId, username: "ben" });
    assert.deepEqual(await who(ann), ["ben", "cat"]);
  });

  it("lists the live edges, least loaded first", async () => {
    beat("edge-1");
    beat("edge-2");
    const { edges } = await call(nc, n.presence("edges"), PresenceApi.edges, {});
    assert.deepEqual(edges, [
      { edge: "edge-1", address: "127.0.0.1:7400", connections: 1, draining: false },
      { edge: "edge-2", address: "127.0.0.1:7401", connections: 2, draining: false },
    ]);
  });

  it("takes an edge's users offline together when its heartbeats stop", async () => {
    const { ann, dan } = users;
    startEdge("edge-3", 2);
    event("connect", dan, "edge-3");
    assert.deepEqual(await who(ann), ["ben", "cat", "dan"]);

    live.delete("edge-3");
    const silentSince = Date.now();
    nc.publish(n.edgeHeartbeat, JSON.stringify({ edge: "edge-3", address: "127.0.0.1:7402", connections: 1, draining: false, at: silentSince }));
    while ((await who(ann)).includes("dan")) {
      assert.ok(Date.now() - silentSince < EDGE_TIMEOUT_MS + 1000, "dan should be offline within the timeout");
      await sleep(50);
    }
    assert.ok(Date.now() - silentSince >= EDGE_TIMEOUT_MS - 50, "not before the timeout");
    assert.deepEqual(await who(ann, true), ["ben", "cat", "dan (seen)"]);
    const { edges } = await call(nc, n.presence("edges"), PresenceApi.edges, {});
    assert.deepEqual(edges.map((e) => e.edge), ["edge-1", "edge-2"]);

    // The last-seen time reached Postgres, where every replica reads it.
    const db = new pg.Client({ connectionString: services.databaseUrl });
    await db.connect();
    try {
      for (let i = 0; i < 50; i++) {
        const { rows } = await db.query<{ seen_at: Date }>("SELECT seen_at FROM presence.last_seen WHERE user_id = $1", [dan.userId]);
        if (rows[0] && rows[0].seen_at.getTime() >= silentSince - 10) return;
        await sleep(20);
      }
      assert.fail("dan's last seen time was not recorded");
    } finally {
      await db.end();
    }
  });

  it("lets a replica started later learn who is online from the edges", async () => {
    const { ann, ben, cat } = users;
    const asked: PresenceSync[] = [];
    // Answer sync requests as an edge would: everyone connected, in one batch.
    const sub = nc.subscribe(n.presenceSync, {
      callback: (_err, msg) => {
        const request = parse(PresenceSync, msg.json());
        asked.push(request);
        for (const [edge, present] of connected) {
          if (!live.has(edge) || (request.edge !== undefined && request.edge !== edge)) continue;
          const answer: PresenceOnline = { t: "online", edge, users: [...present.values()].map((u) => ({ ...u, connections: 1 })), at: Date.now(), last: true };
          nc.publish(n.presenceEvents, JSON.stringify(answer));
        }
      },
    });
    try {
      await nc.flush();
      second = await startPresence(presenceConfig(300), { logger: quietLogger("presence-2") });
      assert.ok(asked.some((r) => r.edge === undefined), "the new replica asked every edge");
      // Only the new replica answers from here on.
      await first!.close();
      first = undefined;
      assert.deepEqual(await who(ann), ["ben", "cat"]);
      assert.deepEqual(await who(ben), ["ann", "cat"]);
      assert.deepEqual(await who(cat, true), ["ann", "ben", "dan (seen)"], "last seen from Postgres");
      const { edges } = await call(nc, n.presence("edges"), PresenceApi.edges, {});
      assert.deepEqual(edges.map((e) => e.edge), ["edge-1", "edge-2"]);
    } finally {
      sub.unsubscribe();
    }
  });
});
