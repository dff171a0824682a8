import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { NatterError, PROTOCOL_VERSION, type ClientFrame } from "@natter/protocol";
import { quietLogger } from "@natter/kit/testing";
import { duplexPair, openGuards, Peer, RecordingMetrics } from "../test/fakes.ts";
import { FrameConnection, type TransportContext } from "./frame-connection.ts";

/** A connection whose handlers answer hello and ping, and fail `user` (refused) and `claim` (a bug). */
class TestConnection extends FrameConnection {
  readonly dispatched: string[] = [];
  released = 0;

  protected override async dispatch(frame: ClientFrame): Promise<void> {
    this.dispatched.push(frame.t);
    if (frame.t === "hello") {
      this.greet();
      this.push({ t: "welcome", v: PROTOCOL_VERSION, edge: "test", maxFrame: 1024, maxFile: 0, chunkSize: 0 });
    } else if (frame.t === "ping") {
      this.push({ t: "pong", id: frame.id });
    } else if (frame.t === "user") {
      throw new NatterError("NO_SUCH_USER");
    } else if (frame.t === "claim") {
      throw new Error("a bug");
    }
  }

  protected override release(): void {
    this.released += 1;
  }
}

const opened: TestConnection[] = [];

function connect(overrides: Partial<TransportContext> = {}) {
  const [server, client] = duplexPair();
  const metrics = new RecordingMetrics();
  const connection = new TestConnection(server, { maxFrame: 1024, loginTimeoutMs: 60_000, ...openGuards(), logger: quietLogger(), metrics, ...overrides });
  opened.push(connection);
  return { connection, server, peer: new Peer(client), metrics };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

afterEach(() => {
  for (const connection of opened.splice(0)) connection.close();
});

describe("frame connection", () => {
  it("takes nothing but hello until the client has said it", async () => {
    const { connection, peer } = connect();
    peer.send({ t: "ping", id: 5 });
    assert.deepEqual(await peer.received(), [{ t: "error", id: 5, code: "BAD_FRAME", message: "say hello first" }]);
    assert.deepEqual(connection.dispatched, []);
    peer.send({ t: "hello", v: PROTOCOL_VERSION });
    peer.send({ t: "ping", id: 6 });
    assert.deepEqual((await peer.received()).map((f) => f.t), ["welcome", "pong"]);
  });

  it("answers errors with the request's id: a frame it cannot read, a refusal, a bug", async () => {
    const { peer } = connect();
    peer.send({ t: "hello", v: PROTOCOL_VERSION });
    peer.send({ t: "send", id: 7, msg: "not a message" });
    peer.send({ t: "user", id: 8, user: "nobody" });
    peer.send({ t: "claim", id: 9, user: "bob" });
    const replies = (await peer.received()).filter((f) => f.t === "error");
    assert.deepEqual(replies.map((f) => f.t === "error" && [f.id, f.code]), [[7, "BAD_FRAME"], [8, "NO_SUCH_USER"], [9, "INTERNAL"]]);
  });

  it("answers an oversized frame FRAME_TOO_LARGE and closes, before reading any of it", async () => {
    const { connection, server, peer } = connect();
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1025);
    peer.socket.write(header);
    const [reply] = await peer.received();
    assert.equal(reply?.t === "error" && reply.code, "FRAME_TOO_LARGE");
    assert.equal(reply?.t === "error" && reply.id, undefined);
    assert.equal(connection.closed, true);
    assert.equal(server.writableEnded, true, "closed gracefully: the error reaches the client");
    assert.equal(connection.released, 1);
  });

  it("closes after ten frames it cannot understand", async () => {
    const { connection, peer } = connect();
    const garbage = Buffer.from([0, 0, 0, 3, 0xc1, 0xc1, 0xc1]);
    for (let i = 0; i < 9; i++) peer.socket.write(garbage);
    assert.equal((await peer.received()).length, 9);
    assert.equal(connection.closed, false);
    peer.socket.write(garbage);
    await until(() => connection.closed, "closed after the tenth");
  });

  it("closes a connection that does not log in in time, and keeps one that did", async () => {
    const late = connect({ loginTimeoutMs: 10 });
    const prompt = connect({ loginTimeoutMs: 10 });
    prompt.connection.loggedIn();
    await until(() => late.connection.closed, "the late one closed");
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(prompt.connection.closed, false);
  });

  it("refuses frames before login past the address's rate, and takes them again once logged in", async () => {
    const guards = openGuards({ preLoginRate: 1 });
    const { connection, peer } = connect(guards);
    peer.send({ t: "hello", v: PROTOCOL_VERSION });
    peer.send({ t: "ping", id: 1 });
    peer.send({ t: "ping", id: 2 });
    const before = await peer.received();
    assert.deepEqual(before.map((f) => (f.t === "error" ? f.code : f.t)), ["welcome", "pong", "RATE_LIMITED"]);
    connection.loggedIn();
    peer.send({ t: "ping", id: 3 });
    assert.deepEqual((await peer.received()).map((f) => f.t), ["pong"]);
  });

  it("counts itself among those waiting to log in until it does, and lets go when it closes", () => {
    const guards = openGuards();
    guards.admission.admit("unknown");
    guards.admission.admit("unknown");
    const first = connect(guards);
    connect(guards);
    assert.equal(guards.admission.waitingConnections, 2);
    first.connection.loggedIn();
    assert.equal(guards.admission.waitingConnections, 1);
    first.connection.close();
    assert.equal(guards.admission.waitingConnections, 1, "a logged-in connection is not released twice");
  });

  it("closes a connection whose unfinished frame would pass the edge's budget, and frees what it held", async () => {
    const guards = openGuards({ partialBytes: 2048 });
    const { connection, server } = connect({ ...guards, maxFrame: 4096 });
    const header = Buffer.alloc(4);
    header.writeUInt32BE(4000, 0);
    server.emit("data", Buffer.concat([header, Buffer.alloc(500)]));
    assert.equal(guards.partialFrames.inUse, 504);
    server.emit("data", Buffer.alloc(600));
    assert.equal(connection.closed, true, "past half the budget before login");
    assert.equal(guards.partialFrames.inUse, 0);
  });

  it("counts frames in and out by type", async () => {
    const { peer, metrics } = connect();
    peer.send({ t: "hello", v: PROTOCOL_VERSION });
    peer.send({ t: "launch-missiles" });
    await peer.received();
    assert.deepEqual(metrics.framesIn, ["hello", "invalid"]);
    assert.deepEqual(metrics.framesOut, ["welcome", "error"]);
  });

  it("closes once, when the peer goes away, and sends nothing after", async () => {
    const { connection, server, peer } = connect();
    server.destroy();
    await until(() => connection.closed, "closed with its socket");
    connection.close();
    connection.push({ t: "pong", id: 1 });
    assert.equal(connection.released, 1);
    assert.deepEqual(await peer.received(), []);
  });
});
