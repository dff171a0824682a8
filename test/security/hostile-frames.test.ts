/**
 * Hostile input against a real edge: at least 10 000 random, truncated, oversized and
 * wrongly typed frames and frame sequences. The edge must answer each with an error or
 * close the connection, never crash, and keep serving everyone else.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { Encoder } from "@msgpack/msgpack";
import { decodeBody, FrameReader, PROTOCOL_VERSION } from "@natter/protocol";
import { account, startServers, type Servers } from "../support/in-process.ts";

let servers: Servers;
const encoder = new Encoder();
let framesSent = 0;

const TYPES = ["hello", "register", "login", "resume", "refresh", "logout", "receive", "send", "ack", "user", "claim",
  "prekeys", "backup", "salt", "passwd", "signedPrekey", "ping", "group", "groups", "gsend", "who", "block", "unblock", "profile", "profileOf", "upload", "chunk", "download"];

/** Almost-right frames: a real type with fields of any shape. */
const wrongTyped = fc.record({
  t: fc.constantFrom(...TYPES),
  id: fc.oneof(fc.nat(), fc.integer(), fc.string(), fc.constant(undefined)),
  msg: fc.anything(),
  user: fc.anything(),
  token: fc.oneof(fc.string(), fc.anything()),
  data: fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.anything()),
  v: fc.oneof(fc.constant(1), fc.anything()),
}, { requiredKeys: ["t"], noNullPrototype: true });

const oneFrame = fc.oneof(
  { weight: 4, arbitrary: wrongTyped.map((f) => frame(encoder.encode(f))) },
  { weight: 2, arbitrary: fc.anything().map((v) => frame(encoder.encode(v))) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => frame(b)) },
  { weight: 1, arbitrary: wrongTyped.map((f) => frame(encoder.encode(f)).subarray(0, 5)) },
);

function frame(body: Uint8Array): Buffer {
  const out = Buffer.alloc(4 + body.byteLength);
  out.writeUInt32BE(body.byteLength, 0);
  out.set(body, 4);
  return out;
}

/** Writes the bytes, then reads until the edge goes quiet or closes; returns what it said. */
function exchange(address: string, chunks: Buffer[], hello: boolean): Promise<{ replies: number; errors: number; closed: boolean }> {
  const [host, port] = address.split(":");
  return new Promise((resolve) => {
    const socket = connect({ host: host!, port: Number(port) });
    const reader = new FrameReader(64 * 1024 * 1024);
    let replies = 0;
    let errors = 0;
    let quiet: NodeJS.Timeout | undefined;
    const finish = (closed: boolean) => {
      clearTimeout(quiet);
      socket.destroy();
      resolve({ replies, errors, closed });
    };
    const rearm = () => {
      clearTimeout(quiet);
      quiet = setTimeout(() => finish(false), 150);
    };
    socket.on("data", (data) => {
      for (const body of reader.push(data)) {
        replies++;
        const reply = decodeBody(body) as { t: string };
        if (reply.t === "error") errors++;
      }
      rearm();
    });
    socket.on("close", () => finish(true));
    socket.on("error", () => undefined);
    socket.on("connect", () => {
      if (hello) socket.write(frame(encoder.encode({ t: "hello", v: PROTOCOL_VERSION })));
      for (const chunk of chunks) socket.write(chunk);
      framesSent += chunks.length;
      rearm();
    });
  });
}

before(async () => {
  servers = await startServers();
});

after(async () => {
  await servers?.stop();
});

describe("hostile frames", () => {
  it("answers thousands of bad frames with errors or a closed connection, and keeps serving others", async () => {
    const alice = await account(servers.address());
    const bob = await account(servers.address());
    await bob.client.ok({ t: "receive" });

    await fc.assert(fc.asyncProperty(fc.array(oneFrame, { minLength: 20, maxLength: 60 }), fc.boolean(), async (chunks, hello) => {
      const { replies, closed } = await exchange(servers.address(), chunks, hello);
      assert.ok(replies > 0 || closed, "every connection hears back or is closed");
    }), { numRuns: 400 });

    // Oversized: a header announcing more than the limit closes the connection.
    const huge = Buffer.alloc(4);
    huge.writeUInt32BE(64 * 1024 * 1024);
    const oversized = await exchange(servers.address(), [huge, Buffer.alloc(1000)], true);
    assert.ok(oversized.closed && oversized.errors >= 1);

    assert.ok(framesSent >= 10_000, `sent ${framesSent} frames`);

    // The bystanders were never disturbed.
    const id = randomUUID();
    await alice.client.ok({ t: "send", msg: { id, to: bob.session.userId, body: new Uint8Array([7]) } });
    const delivered = await bob.client.next((f) => f.t === "deliver");
    assert.ok(delivered.t === "deliver" && delivered.msg.id === id);
    assert.equal((await alice.client.request({ t: "ping" })).t, "pong");
    console.log(`hostile frames sent: ${framesSent}`);
    alice.client.close();
    bob.client.close();
  });
});
