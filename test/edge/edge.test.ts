/** The edge against real NATS, Postgres and auth, spoken to frame by frame. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { encodeFrame, names, type ServerFrame } from "@natter/protocol";
import { createLogger, createRegistry, loadConfig, type Registry } from "@natter/kit";
import { testServices, type TestServices } from "@natter/kit/testing";
import { loadAuthConfig, startAuth, type RunningAuth } from "@natter/auth";
import { generateJwtKeys } from "../../scripts/stack.ts";
import { RawClient } from "../support/raw-client.ts";
import { TEST_SALT, loginSecretOf } from "../support/in-process.ts";
import { EdgeEnv, startEdge, type RunningEdge as Edge } from "@natter/edge";

let services: TestServices;
let auth: RunningAuth;
let edges: Edge[] = [];
const registries = new Map<Edge, Registry>();
let nc: NatsConnection;
const logger = createLogger("test", "silent");

const bundle = (seed: number) => ({
  v: 1,
  identityKey: `ik${seed}`, identityDhKey: `dh${seed}`, identityDhSignature: "sig",
  signedPrekey: { id: 1, publicKey: "spk", signature: "sig" },
  oneTimePrekeys: [{ id: 1, publicKey: "otk1", signature: "sig" }, { id: 2, publicKey: "otk2", signature: "sig" }],
});

async function edge(port = 0): Promise<Edge> {
  const env = { NATS_URL: services.natsUrl, NATTER_NAMESPACE: services.namespace, EDGE_PORT: String(port), EDGE_MAX_FRAME: "300000", EDGE_DRAIN_MS: "200" };
  const registry = createRegistry("edge");
  const started = await startEdge(loadConfig(EdgeEnv, env), { logger, metrics: registry });
  registries.set(started, registry);
  edges.push(started);
  return started;
}

const address = (e: Edge) => `127.0.0.1:${e.port}`;
let counter = 0;

async function account(on: Edge): Promise<{ client: RawClient; session: Extract<ServerFrame, { t: "session" }>; name: string }> {
  const name = `user${++counter}_${randomUUID().slice(0, 6)}`;
  const client = await RawClient.connect(address(on));
  const session = await client.ok<"session">({ t: "register", username: name, salt: TEST_SALT, secret: loginSecretOf("password123"), bundle: bundle(counter), backup: "backup-blob-0000" });
  return { client, session, name };
}

before(async () => {
  services = await testServices();
  auth = await startAuth(loadAuthConfig({
    NATS_URL: services.natsUrl, DATABASE_URL: services.databaseUrl, NATTER_NAMESPACE: services.namespace,
    NODE_ENV: "test", AUTH_BCRYPT_COST: "4", AUTH_ADDR_LIMIT: "10000", AUTH_JWT_KEYS: await generateJwtKeys(),
  }), { logger });
  await edge();
  await edge();
  nc = await connect({ servers: services.natsUrl });
});

after(async () => {
  await nc?.close();
  for (const e of edges) await e.close();
  await auth?.close();
  await services?.cleanup();
});

describe("edge", () => {
  it("stamps the sender, stores before accepting, and delivers once acked", async () => {
    const alice = await account(edges[0]!);
    const bob = await account(edges[1]!);
    await bob.client.ok({ t: "receive" });
    const id = randomUUID();
    const accepted = await alice.client.ok<"accepted">({
      t: "send", msg: { id, to: bob.session.userId, body: new Uint8Array([1, 2, 3]), from: bob.session.userId },
    });
    assert.equal(accepted.msgId, id);
    const delivered = await bob.client.next((f) => f.t === "deliver");
    assert.ok(delivered.t === "deliver");
    assert.equal(delivered.msg.from, alice.session.userId, "the edge stamps the sender, whatever the frame says");
    assert.equal(delivered.msg.fromName, alice.name);
    assert.deepEqual([...delivered.msg.body], [1, 2, 3]);
    bob.client.send({ t: "ack", msgId: id });
    await waitFor(async () => (await waiting(bob.session.userId)) === 0, "an acked message leaves the stream");
    const counted = await registries.get(edges[0]!)!.metrics();
    assert.match(counted, /natter_messages_accepted_total\{service="edge"\} [1-9]/);
    assert.match(counted, /natter_edge_frames_in_total\{type="send",service="edge"\} [1-9]/);
    assert.match(counted, /natter_jetstream_publish_seconds_count\{service="edge"\} [1-9]/);
    alice.client.close();
    bob.client.close();
  });

  it("stores a retried send once", async () => {
    const alice = await account(edges[0]!);
    const bob = await account(edges[0]!);
    const msg = { id: randomUUID(), to: bob.session.userId, body: new Uint8Array([9]) };
    await alice.client.ok({ t: "send", msg });
    await alice.client.ok({ t: "send", msg });
    assert.equal(await waiting(bob.session.userId), 1);
    alice.client.close();
    bob.client.close();
  });

  it("hands an offline device what waited, on another edge, and again after a reconnect until acked", async () => {
    const alice = await account(edges[0]!);
    const bob = await account(edges[0]!);
    bob.client.close();
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    for (const id of ids) await alice.client.ok({ t: "send", msg: { id, to: bob.session.userId, body: new Uint8Array([1]) } });

    const first = await RawClient.connect(address(edges[1]!));
    await first.ok({ t: "resume", token: bob.session.token });
    await first.ok({ t: "receive" });
    const got = [];
    for (let i = 0; i < 3; i++) got.push(await first.next((f) => f.t === "deliver"));
    assert.deepEqual(got.map((f) => f.t === "deliver" && f.msg.id), ids, "in order");
    first.send({ t: "ack", msgId: ids[0] });
    await waitFor(async () => (await waiting(bob.session.userId)) === 2, "the acked one is gone");
    first.close();

    const second = await RawClient.connect(address(edges[0]!));
    await second.ok({ t: "resume", token: bob.session.token });
    await second.ok({ t: "receive" });
    const again = [await second.next((f) => f.t === "deliver"), await second.next((f) => f.t === "deliver")];
    assert.deepEqual(again.map((f) => f.t === "deliver" && f.msg.id), ids.slice(1), "unacked ones come again");
    second.close();
    alice.client.close();
  });

  it("lets one connection of an account receive at a time", async () => {
    const carol = await account(edges[0]!);
    await carol.client.ok({ t: "receive" });
    const other = await RawClient.connect(address(edges[1]!));
    await other.ok({ t: "resume", token: carol.session.token });
    const reply = await other.request({ t: "receive" });
    assert.equal(reply.t === "error" && reply.code, "ALREADY_RECEIVING");
    other.close();
    carol.client.close();
  });

  it("refuses a second password login unless it takes over", async () => {
    const dave = await account(edges[0]!);
    const second = await RawClient.connect(address(edges[1]!));
    const refused = await second.request({ t: "login", username: dave.name, secret: loginSecretOf("password123") });
    assert.equal(refused.t === "error" && refused.code, "ALREADY_CONNECTED");
    await second.ok({ t: "login", username: dave.name, secret: loginSecretOf("password123"), takeover: true });
    const kicked = await dave.client.next((f) => f.t === "event");
    assert.equal(kicked.t === "event" && kicked.kind, "kicked");
    await dave.client.closed;
    const stale = await RawClient.connect(address(edges[0]!));
    await waitFor(async () => {
      const reply = await stale.request({ t: "resume", token: dave.session.token });
      return reply.t === "error" && reply.code === "SESSION_ENDED";
    }, "the old session is over");
    stale.close();
    second.close();
  });

  it("forgets a session it remembered as active once it is logged out elsewhere", async () => {
    const erin = await account(edges[0]!);
    const first = await RawClient.connect(address(edges[1]!));
    await first.ok({ t: "resume", token: erin.session.token });
    first.close();
    await erin.client.ok({ t: "logout" });
    const again = await RawClient.connect(address(edges[1]!));
    await waitFor(async () => {
      const reply = await again.request({ t: "resume", token: erin.session.token });
      return reply.t === "error" && reply.code === "SESSION_ENDED";
    }, "the logged-out session is refused where it was remembered");
    again.close();
  });

  it("answers bad frames with errors and closes on an oversized one", async () => {
    const client = await RawClient.connect(address(edges[0]!));
    const unknown = await client.request({ t: "launch-missiles" });
    assert.equal(unknown.t === "error" && unknown.code, "BAD_FRAME");
    const early = await client.request({ t: "send", msg: { id: randomUUID(), to: randomUUID(), body: new Uint8Array(1) } });
    assert.equal(early.t === "error" && early.code, "NOT_AUTHENTICATED");
    client.socket.write(Buffer.from([0, 0, 0, 3, 0xc1, 0xc1, 0xc1]));
    const garbage = await client.next((f) => f.t === "error");
    assert.equal(garbage.t === "error" && garbage.code, "BAD_FRAME");
    const pong = await client.request({ t: "ping" });
    assert.equal(pong.t, "pong", "still serving after bad frames");
    client.socket.write(encodeFrame({ t: "ping", id: 1, pad: "x".repeat(400_000) }));
    const tooLarge = await client.next((f) => f.t === "error");
    assert.equal(tooLarge.t === "error" && tooLarge.code, "FRAME_TOO_LARGE");
    await client.closed;
  });

  it("stores a file in chunks and gives it back byte for byte", async () => {
    const { client } = await account(edges[0]!);
    const bytes = new Uint8Array(700_000).map((_, i) => (i * 7919) % 251);
    const { file } = await client.ok<"upload">({ t: "upload", size: bytes.length });
    const chunk = 256 * 1024;
    let stored: ServerFrame | undefined;
    for (let at = 0; at < bytes.length; at += chunk) {
      const last = at + chunk >= bytes.length;
      const reply = await client.ok({ t: "chunk", upload: file, data: bytes.subarray(at, at + chunk), last });
      if (last) stored = reply;
    }
    assert.ok(stored?.t === "stored" && stored.size === bytes.length);

    const reader = await RawClient.connect(address(edges[1]!));
    const other = await account(edges[1]!);
    other.client.close();
    await reader.ok({ t: "resume", token: other.session.token });
    const id = 4242;
    reader.send({ t: "download", id, file });
    const parts: Uint8Array[] = [];
    for (;;) {
      const frame = await reader.next((f) => "id" in f && f.id === id);
      assert.equal(frame.t, "data");
      if (frame.t !== "data") break;
      parts.push(frame.data);
      if (frame.last) break;
    }
    assert.deepEqual(Buffer.concat(parts), Buffer.from(bytes));
    const missing = await reader.request({ t: "download", file: randomUUID() });
    assert.equal(missing.t === "error" && missing.code, "NO_SUCH_FILE");
    reader.close();
    client.close();
  });

  it("refuses a file over the limit before any of it is sent, and keeps nothing of an interrupted upload", async () => {
    const { client } = await account(edges[0]!);
    const tooLarge = await client.request({ t: "upload", size: 200 * 1024 * 1024 });
    assert.equal(tooLarge.t === "error" && tooLarge.code, "FILE_TOO_LARGE");
    const before = await storedChunks();
    const { file } = await client.ok<"upload">({ t: "upload", size: 300_000 });
    await client.ok({ t: "chunk", upload: file, data: new Uint8Array(200_000), last: false });
    await waitFor(async () => (await storedChunks()) > before, "part of the upload reached the store");
    client.close();
    await waitFor(async () => (await storedChunks()) === before, "the half upload is gone");
  });

  it("tells clients to move on when it drains", async () => {
    const extra = await edge();
    const client = await RawClient.connect(address(extra));
    const closing = extra.close();
    const event = await client.next((f) => f.t === "event");
    assert.equal(event.t === "event" && event.kind, "shutdown");
    await client.closed;
    await closing;
    edges = edges.filter((e) => e !== extra);
  });
});

async function waiting(userId: string): Promise<number> {
  const jsm = await jetstreamManager(nc);
  const n = names(services.namespace);
  const info = await jsm.streams.info(n.inboxStream, { subjects_filter: n.inbox(userId) });
  return info.state.subjects?.[n.inbox(userId)] ?? 0;
}

/** Chunk messages the object store holds, over all files. */
async function storedChunks(): Promise<number> {
  const jsm = await jetstreamManager(nc);
  const bucket = names(services.namespace).attachments;
  const info = await jsm.streams.info(`OBJ_${bucket}`, { subjects_filter: `$O.${bucket}.C.>` });
  return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out: ${what}`);
}
