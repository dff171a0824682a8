import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { PROTOCOL_VERSION, type AuthApi, type GroupApi, type PresenceApi } from "@natter/protocol";
import { quietLogger } from "@natter/kit/testing";
import {
  ALICE, BOB, duplexPair, FakeBlocks, FakeBus, FakeFiles, FakeInbox, FakeQuota, FakeRecipients, FakeSendRates, FakeService, FakeSessions, FakeTokens, openGuards, Peer,
  RecordingMetrics, RecordingPresence,
} from "../test/fakes.ts";
import { ClientConnection } from "./connection.ts";
import { MessagingHandlers } from "./handlers/messaging.ts";
import { SessionHandlers } from "./handlers/session.ts";
import { TransferHandlers } from "./handlers/transfers.ts";

const opened: ClientConnection[] = [];

/** A connection of an edge whose ports are all fakes, greeted and, with `as`, resumed as that user. */
async function connect(as?: typeof ALICE) {
  const [server, client] = duplexPair();
  const auth = new FakeService<typeof AuthApi>().answer("user", ({ username }) => ({ userId: BOB.userId, username, identityKey: "ik" }));
  const bus = new FakeBus();
  const tokens = new FakeTokens();
  const presence = new RecordingPresence();
  const inbox = new FakeInbox();
  const closed: ClientConnection[] = [];
  const connection = new ClientConnection(server, {
    maxFrame: 4096, loginTimeoutMs: 60_000, ...openGuards(), logger: quietLogger(), metrics: new RecordingMetrics(),
    session: new SessionHandlers({
      edgeName: "edge-a", maxFrame: 4096, maxFile: 1000, chunkSize: 1024, redirect: () => undefined,
      auth: auth.call, bus, tokens, sessions: new FakeSessions(), presence,
    }),
    messaging: new MessagingHandlers({
      inbox, blocks: new FakeBlocks(), recipients: new FakeRecipients(), sendRates: new FakeSendRates(), metrics: new RecordingMetrics(), clock: { now: () => 1 },
    }),
    transfers: new TransferHandlers({ files: new FakeFiles(), quota: new FakeQuota(), maxFile: 1000 }),
    services: { auth: auth.call, group: new FakeService<typeof GroupApi>().call, presence: new FakeService<typeof PresenceApi>().call },
  }, (c) => closed.push(c));
  opened.push(connection);
  const peer = new Peer(client);
  peer.send({ t: "hello", v: PROTOCOL_VERSION });
  if (as) {
    tokens.tokens.set("token", as);
    peer.send({ t: "resume", id: 1, token: "token" });
  }
  await peer.received();
  return { connection, peer, auth, bus, presence, inbox, closed };
}

afterEach(() => {
  for (const connection of opened.splice(0)) connection.close();
});

describe("client connection", () => {
  it("answers a ping, and refuses what needs a session before there is one", async () => {
    const { peer } = await connect();
    peer.send({ t: "ping", id: 2 });
    peer.send({ t: "user", id: 3, user: "bob" });
    peer.send({ t: "upload", id: 4, size: 10 });
    peer.send({ t: "receive", id: 5 });
    assert.deepEqual((await peer.received()).map((f) => f.t === "error" ? [f.id, f.code] : [f.t]), [
      ["pong"], [3, "NOT_AUTHENTICATED"], [4, "NOT_AUTHENTICATED"], [5, "NOT_AUTHENTICATED"],
    ]);
  });

  it("forwards a frame to its service as the user it is logged in as", async () => {
    const { peer, auth } = await connect(ALICE);
    peer.send({ t: "user", id: 2, user: "bob" });
    assert.deepEqual(await peer.received(), [{ t: "user", id: 2, userId: BOB.userId, username: "bob", identityKey: "ik" }]);
    assert.deepEqual(auth.requests("user"), [{ username: "bob" }]);
  });

  it("tells the client when the edge shuts down, and stops its deliveries", async () => {
    const { connection, peer, inbox } = await connect(ALICE);
    peer.send({ t: "receive", id: 2 });
    await peer.received();
    connection.shutdown();
    assert.deepEqual(await peer.received(), [{ t: "event", kind: "shutdown", message: "this server is shutting down" }]);
    assert.equal(inbox.feeds[0]?.stopped, true);
  });

  it("lets go of its session, feed and uploads when it closes, and tells its listener", async () => {
    const { connection, peer, bus, presence, inbox, closed } = await connect(ALICE);
    peer.send({ t: "receive", id: 2 });
    peer.send({ t: "upload", id: 3, size: 10 });
    await peer.received();
    connection.close();
    assert.equal(bus.joined[0]?.left, true);
    assert.deepEqual(presence.events, [["connected", "alice"], ["disconnected", "alice"]]);
    assert.equal(inbox.feeds[0]?.stopped, true);
    assert.deepEqual(closed, [connection]);
  });
});
