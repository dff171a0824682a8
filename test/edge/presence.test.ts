/** The edge with presence and blocking: real NATS, Postgres, auth and presence. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createLogger, loadConfig } from "@natter/kit";
import { testServices, type TestServices } from "@natter/kit/testing";
import { loadAuthConfig, startAuth, type RunningAuth } from "@natter/auth";
import { loadPresenceConfig, startPresence, type RunningPresence } from "@natter/presence";
import { PROTOCOL_VERSION, type ServerFrame } from "@natter/protocol";
import { generateJwtKeys } from "../../scripts/stack.ts";
import { RawClient } from "../support/raw-client.ts";
import { TEST_SALT, loginSecretOf } from "../support/in-process.ts";
import { EdgeEnv, startEdge, type RunningEdge as Edge } from "@natter/edge";

let services: TestServices;
let auth: RunningAuth;
let presence: RunningPresence;
const edges: Edge[] = [];
const logger = createLogger("test", "silent");

const bundle = {
  v: 1, identityKey: "ik", identityDhKey: "dh", identityDhSignature: "sig",
  signedPrekey: { id: 1, publicKey: "spk", signature: "sig" }, oneTimePrekeys: [],
};

async function edge(): Promise<Edge> {
  const env = { NATS_URL: services.natsUrl, NATTER_NAMESPACE: services.namespace, EDGE_PORT: "0", EDGE_DRAIN_MS: "200" };
  const started = await startEdge(loadConfig(EdgeEnv, env), { logger });
  edges.push(started);
  return started;
}

async function user(on: Edge, name = `u${randomUUID().slice(0, 8)}`) {
  const client = await RawClient.connect(`127.0.0.1:${on.port}`);
  const session = await client.ok<"session">({ t: "register", username: name, salt: TEST_SALT, secret: loginSecretOf("password123"), bundle, backup: "backup-blob-0000" });
  return { client, session, name };
}

async function who(client: RawClient, lastHour = false): Promise<string[]> {
  const reply = await client.ok<"who">({ t: "who", lastHour });
  return reply.users.map((u) => u.username);
}

before(async () => {
  services = await testServices();
  const common = { NATS_URL: services.natsUrl, DATABASE_URL: services.databaseUrl, NATTER_NAMESPACE: services.namespace };
  auth = await startAuth(loadAuthConfig({ ...common, NODE_ENV: "test", AUTH_BCRYPT_COST: "4", AUTH_ADDR_LIMIT: "10000", AUTH_JWT_KEYS: await generateJwtKeys() }), { logger });
  presence = await startPresence(loadPresenceConfig({ ...common, PRESENCE_WARMUP_MS: "100" }), { logger });
  await edge();
  await edge();
});

after(async () => {
  for (const e of edges) await e.close();
  await presence?.close();
  await auth?.close();
  await services?.cleanup();
});

describe("edge presence and blocking", () => {
  it("reports who is online, and who was within the hour after they leave", async () => {
    const a = await user(edges[0]!);
    const b = await user(edges[1]!);
    await eventually(async () => (await who(a.client)).includes(b.name), "b online for a");
    assert.ok(!(await who(a.client)).includes(a.name), "not yourself");
    b.client.close();
    await eventually(async () => !(await who(a.client)).includes(b.name), "b offline");
    assert.ok((await who(a.client, true)).includes(b.name), "b seen within the hour");
    a.client.close();
  });

  it("drops a blocked sender's messages without telling them, and hides presence both ways", async () => {
    const a = await user(edges[0]!);
    const b = await user(edges[1]!);
    await b.client.ok({ t: "receive" });
    await b.client.ok({ t: "block", user: a.name });
    const blocked = randomUUID();
    const reply = await a.client.ok<"accepted">({ t: "send", msg: { id: blocked, to: b.session.userId, body: new Uint8Array([1]) } });
    assert.equal(reply.msgId, blocked, "the sender is not told");
    assert.ok(!(await who(a.client)).includes(b.name));
    assert.ok(!(await who(b.client)).includes(a.name));
    await b.client.ok({ t: "unblock", user: a.name });
    const after = randomUUID();
    await eventually(async () => {
      await a.client.ok({ t: "send", msg: { id: randomUUID(), to: b.session.userId, body: new Uint8Array([2]) } });
      return b.client.frames.some((f) => f.t === "deliver");
    }, "delivery after unblock");
    void after;
    assert.ok(!b.client.frames.some((f: ServerFrame) => f.t === "deliver" && f.msg.id === blocked), "the blocked message never arrives");
    a.client.close();
    b.client.close();
  });

  it("sends new clients to a clearly less loaded edge", async () => {
    await eventually(async () => true, "heartbeats");
    await new Promise((r) => setTimeout(r, 2500));
    const clients: RawClient[] = [];
    const landed = new Map<string, number>();
    for (let i = 0; i < 12; i++) {
      let client = await RawClient.connect(`127.0.0.1:${edges[0]!.port}`, false);
      client.send({ t: "hello", v: PROTOCOL_VERSION });
      const first = await client.next((f) => f.t === "welcome" || f.t === "redirect");
      if (first.t === "redirect") {
        client.close();
        client = await RawClient.connect(first.to, true, true);
      }
      const welcome = first.t === "welcome" ? first : undefined;
      const at = welcome ? `127.0.0.1:${edges[0]!.port}` : (first as Extract<ServerFrame, { t: "redirect" }>).to;
      landed.set(at, (landed.get(at) ?? 0) + 1);
      clients.push(client);
    }
    assert.equal(landed.size, 2, `both edges got clients: ${JSON.stringify([...landed])}`);
    for (const count of landed.values()) assert.ok(count >= 4 && count <= 8, JSON.stringify([...landed]));
    for (const c of clients) c.close();
  });
});

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  assert.fail(`timed out: ${what}`);
}
