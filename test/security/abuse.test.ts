/**
 * What one hostile user can do to others, against the real services: flood an offline
 * user's inbox (the flooder is refused INBOX_FULL and nothing stored is lost), fill the
 * store with sends to ids nobody has (refused, nothing stored), store files past their
 * quota (refused FILE_QUOTA_EXCEEDED, others unaffected), and hold a thousand slow
 * connections that never log in (the edge holds at most its caps, and closes them all
 * within the login timeout); and a logged-in connection that stops pinging is closed.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { randomBytes, randomUUID } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import { connectNats } from "@natter/kit";
import { quietLogger } from "@natter/kit/testing";
import { decodeBody, FrameReader, names, type ServerFrame } from "@natter/protocol";
import { SEND_USAGE_INTERVAL_MS, SendUsageShare } from "../../services/edge/src/adapters/nats/send-usage-share.ts";
import { UserSendRates } from "../../services/edge/src/domain/user-send-rates.ts";
import { RawClient } from "../support/raw-client.ts";
import { startServers, type Servers } from "../support/in-process.ts";

const INBOX_CAP = 40;
const PER_ADDRESS = 100;
const PARTIAL_BUDGET = 4 * 1024 * 1024;
const LOGIN_TIMEOUT_MS = 3000;
const SLOW_CONNECTIONS = 1000;
const KEEPALIVE_MS = 1000;
const FILE_QUOTA = 1024 * 1024;

let servers: Servers;

before(async () => {
  servers = await startServers({
    env: {
      EDGE_INBOX_MAX_MSGS: String(INBOX_CAP),
      EDGE_SEND_RATE: "100000",
      EDGE_MAX_WAITING_PER_ADDR: String(PER_ADDRESS),
      EDGE_MAX_WAITING: "2000",
      EDGE_PRELOGIN_RATE: "100000",
      EDGE_PARTIAL_FRAME_BYTES: String(PARTIAL_BUDGET),
      EDGE_LOGIN_TIMEOUT_MS: String(LOGIN_TIMEOUT_MS),
      EDGE_KEEPALIVE_MS: String(KEEPALIVE_MS),
      EDGE_FILE_QUOTA_BYTES: String(FILE_QUOTA),
    },
  });
});

after(async () => {
  await servers?.stop();
});

const bundle = {
  v: 1, identityKey: "ik", identityDhKey: "dh", identityDhSignature: "sig",
  signedPrekey: { id: 1, publicKey: "spk", signature: "sig" },
  oneTimePrekeys: [{ id: 1, publicKey: "otk1", signature: "sig" }],
};

/** A fresh account, logged in on its own connection (dummy keys: the servers never read ciphertext). */
async function register(): Promise<{ client: RawClient; userId: string; token: string }> {
  const client = await RawClient.connect(servers.address());
  const username = `u${randomBytes(5).toString("hex")}`;
  const secret = randomBytes(32).toString("base64url");
  const salt = randomBytes(16).toString("base64url");
  const session = await client.ok<"session">({ t: "register", username, password: secret, salt, secret, bundle, backup: "backup-blob-0000" });
  return { client, userId: session.userId, token: session.token };
}

const outcome = (reply: ServerFrame) => (reply.t === "error" ? reply.code : reply.t);

async function inboxMessages(): Promise<number> {
  const nc = await connectNats({ servers: servers.services.natsUrl, name: "abuse-test", logger: quietLogger() });
  try {
    const info = await (await jetstreamManager(nc)).streams.info(names(servers.services.namespace).inboxStream);
    return info.state.messages;
  } finally {
    await nc.close();
  }
}

describe("abuse by one user", () => {
  it("loses nothing of an offline user's inbox while someone floods it, and tells the flooder INBOX_FULL", async () => {
    const [bob, carol, mallory] = [await register(), await register(), await register()];
    bob.client.close();
    const carolsIds = Array.from({ length: 5 }, () => randomUUID());
    for (const id of carolsIds) {
      assert.equal(outcome(await carol.client.request({ t: "send", msg: { id, to: bob.userId, body: new Uint8Array([1]) } })), "accepted");
    }
    const flood = await Promise.all(Array.from({ length: INBOX_CAP * 2 }, () =>
      mallory.client.request({ t: "send", msg: { id: randomUUID(), to: bob.userId, body: new Uint8Array(64) } })));
    const answers = flood.map(outcome);
    assert.equal(answers.filter((a) => a === "accepted").length, INBOX_CAP - carolsIds.length, "accepted up to the cap");
    assert.equal(answers.filter((a) => a === "INBOX_FULL").length, INBOX_CAP + carolsIds.length, "refused past it, and told why");

    // Bob comes back (a resume of his session) and finds Carol's messages, none evicted.
    const back = await RawClient.connect(servers.address());
    await back.ok({ t: "resume", token: bob.token });
    await back.ok({ t: "receive" });
    const delivered: string[] = [];
    while (delivered.length < INBOX_CAP) {
      const frame = await back.next((f) => f.t === "deliver");
      if (frame.t === "deliver") delivered.push(frame.msg.id);
    }
    for (const id of carolsIds) assert.ok(delivered.includes(id), `Carol's ${id} is still there`);
    for (const c of [back, carol.client, mallory.client]) c.close();
  });

  it("refuses sends to ids nobody has, and stores none of them", async () => {
    const mallory = await register();
    const before = await inboxMessages();
    const answers = await Promise.all(Array.from({ length: 200 }, () =>
      mallory.client.request({ t: "send", msg: { id: randomUUID(), to: randomUUID(), body: new Uint8Array(1024) } })));
    assert.deepEqual([...new Set(answers.map(outcome))], ["NO_SUCH_USER"]);
    assert.equal(await inboxMessages(), before, "the store did not grow");
    mallory.client.close();
  });
});

describe("a user sending through several edges", () => {
  it("is held to one rate: each edge charges what the others report", async () => {
    const nc = await connectNats({ servers: servers.services.natsUrl, name: "abuse-test-rates", logger: quietLogger() });
    const n = names(servers.services.namespace);
    const [onA, onB] = [new UserSendRates(1), new UserSendRates(1)];
    const user = randomUUID();
    const charged: number[] = [];
    const spentElsewhere = onB.spentElsewhere.bind(onB);
    onB.spentElsewhere = (userId, tokens) => {
      if (userId === user) charged.push(tokens);
      spentElsewhere(userId, tokens);
    };
    const shares = [new SendUsageShare(nc, n, { name: "edge-a" }, onA, quietLogger()), new SendUsageShare(nc, n, { name: "edge-b" }, onB, quietLogger())];
    try {
      assert.equal(onB.take(user), true, "the user sends on edge B, which has a burst of two");
      assert.deepEqual([onA.take(user), onA.take(user), onA.take(user)], [true, true, false], "and spends a burst of two on edge A");
      const deadline = Date.now() + SEND_USAGE_INTERVAL_MS * 5;
      while (charged.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(charged, [2], "edge A told edge B what the user spent there");
      assert.equal(onB.take(user), false, "so edge B refuses the send its own bucket would have allowed");
    } finally {
      for (const share of shares) share.close();
      await nc.close();
    }
  });
});

describe("files past the quota", () => {
  /** Uploads `size` bytes in one chunk; the edge's last answer (`stored` or an error code). */
  async function upload(client: RawClient, size: number): Promise<string> {
    const started = await client.request({ t: "upload", size });
    if (started.t !== "upload") return outcome(started);
    return outcome(await client.request({ t: "chunk", upload: started.file, data: new Uint8Array(size), last: true }));
  }

  it("refuses a user's upload past their quota with FILE_QUOTA_EXCEEDED, and not another user's", async () => {
    const [mallory, ann] = [await register(), await register()];
    const size = 200 * 1024;
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) answers.push(await upload(mallory.client, size));
    assert.equal(answers.filter((a) => a === "stored").length, Math.floor(FILE_QUOTA / (256 * 1024)), "stored up to the quota");
    assert.equal(answers.at(-1), "FILE_QUOTA_EXCEEDED");
    assert.equal(await upload(ann.client, size), "stored", "another user has a quota of their own");
    mallory.client.close();
    ann.client.close();
  });
});

describe("slow connections that never log in", () => {
  it("holds no more of them than its caps, bounds their unfinished frames, and closes them all in time", async () => {
    const edge = servers.edges[0]!;
    const [host, port] = servers.address().split(":");
    const opened: Socket[] = [];
    const refused = { count: 0 };
    let sent = 0;
    try {
      await Promise.all(Array.from({ length: SLOW_CONNECTIONS }, () => new Promise<void>((resolve) => {
        const socket = connect({ host: host!, port: Number(port) });
        opened.push(socket);
        const reader = new FrameReader(1024 * 1024);
        socket.on("data", (chunk: Buffer) => {
          for (const body of reader.push(chunk)) {
            const frame = decodeBody(body) as ServerFrame;
            if (frame.t === "error" && frame.code === "TOO_MANY_CONNECTIONS") refused.count += 1;
          }
        });
        socket.on("error", () => undefined);
        socket.once("connect", () => {
          // The header of a frame of almost 1 MiB, then a slice of it: the rest comes later, slowly.
          const head = Buffer.alloc(4);
          head.writeUInt32BE(1024 * 1024 - 16, 0);
          const slice = Buffer.concat([head, Buffer.alloc(1024)]);
          socket.write(slice, () => { sent += slice.byteLength; resolve(); });
        });
        socket.once("close", () => resolve());
      })));
      // Let the edge take every connection and read what was written.
      const told = Date.now() + 10_000;
      while (refused.count + edge.listener.connections.size < SLOW_CONNECTIONS && Date.now() < told) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const held = edge.listener.connections.size;
      assert.ok(held <= PER_ADDRESS, `the edge holds ${held} connections from one address (cap ${PER_ADDRESS})`);
      assert.ok(edge.listener.stats().waiting <= PER_ADDRESS);
      assert.ok(refused.count >= SLOW_CONNECTIONS - PER_ADDRESS, `${refused.count} were told TOO_MANY_CONNECTIONS`);

      // The next slice of each frame: together they pass what the edge lets unfinished frames hold.
      const more = Buffer.alloc(64 * 1024);
      for (const socket of opened) if (!socket.destroyed) socket.write(more, () => { sent += more.byteLength; });
      await new Promise((resolve) => setTimeout(resolve, 500));
      const { partialBytes } = edge.listener.stats();
      assert.ok(sent > PARTIAL_BUDGET, `the attackers sent ${sent} bytes, more than the bound`);
      assert.ok(partialBytes <= PARTIAL_BUDGET / 2, `unfinished frames hold ${partialBytes} bytes (bound ${PARTIAL_BUDGET / 2})`);

      const deadline = Date.now() + LOGIN_TIMEOUT_MS * 4;
      while (edge.listener.connections.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(edge.listener.connections.size, 0, "every one closed once the login time was up");
      assert.deepEqual(edge.listener.stats(), { waiting: 0, partialBytes: 0 });
    } finally {
      for (const socket of opened) socket.destroy();
    }
    // The edge serves as before.
    const ann = await register();
    assert.equal(outcome(await ann.client.request({ t: "ping" })), "pong");
    ann.client.close();
  });
});

describe("a logged-in connection that stops pinging", () => {
  it("is closed after twice the keepalive, while one that pings stays", async () => {
    const [silent, pinging] = [await register(), await register()];
    const pings = setInterval(() => pinging.client.send({ t: "ping", id: 0 }), KEEPALIVE_MS / 2);
    try {
      const closedInTime = await Promise.race([
        silent.client.closed.then(() => true),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), KEEPALIVE_MS * 6)),
      ]);
      assert.equal(closedInTime, true, "the silent one was closed");
      assert.equal(outcome(await pinging.client.request({ t: "ping" })), "pong", "the pinging one still answers");
    } finally {
      clearInterval(pings);
      silent.client.close();
      pinging.client.close();
    }
  });
});
