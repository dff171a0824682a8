/** The session bus against a real NATS: who is connected, who receives, and kicks. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { names, type Names } from "@natter/protocol";
import { connectNats, type NatsConnection } from "@natter/kit";
import { quietLogger, testServices, type TestServices } from "@natter/kit/testing";
import { NatsSessionBus } from "../src/adapters/nats/session-bus.ts";
import { TurnBatch } from "../src/adapters/nats/turn-batch.ts";
import { ALICE } from "./fakes.ts";

describe("session bus", () => {
  let services: TestServices;
  let nc: NatsConnection;
  let bus: NatsSessionBus;
  let n: Names;
  const turn = new TurnBatch();
  // Each test speaks for an account of its own.
  const someone = () => ({ ...ALICE, userId: crypto.randomUUID(), sid: crypto.randomUUID() });
  /** What the bus deferred to the end of the turn has reached the server. */
  const settled = async () => {
    await turn.end();
    await nc.flush();
  };

  before(async () => {
    services = await testServices();
    nc = await connectNats({ servers: services.natsUrl, name: "edge-bus-test", logger: quietLogger() });
    n = names(services.namespace);
    bus = new NatsSessionBus(nc, n, quietLogger(), turn);
  });

  after(async () => {
    await nc?.drain();
    await services?.cleanup();
  });

  it("lets one connection of an account receive at a time: the one whose feed answers at the live subject", async () => {
    const alice = someone();
    const first = bus.join(alice, "conn-1", () => undefined);
    const second = bus.join(alice, "conn-2", () => undefined);
    await settled();
    assert.equal(await bus.isConnected(alice.userId), true);
    assert.equal(await first.claimReceiver(), true);
    // What the first connection's feed does once it opens (kit's DeviceFeed, tested there).
    const feed = nc.subscribe(n.live(alice.userId), { callback: (_err, msg) => void msg.respond("1") });
    await nc.flush();
    assert.equal(await second.claimReceiver(), false);
    feed.unsubscribe();
    first.leave();
    await settled();
    assert.equal(await second.claimReceiver(), true);
    second.leave();
    await settled();
    assert.equal(await bus.isConnected(alice.userId), false);
  });

  it("does not give the right to receive to a connection that left while it asked for it", async () => {
    const alice = someone();
    const gone = bus.join(alice, "conn-1", () => undefined);
    await settled();
    const claim = gone.claimReceiver();
    gone.leave();
    assert.equal(await claim, false);
  });

  it("kicks the account's other connections on a takeover, and one session's on a logout", async () => {
    const alice = someone();
    const kicked: string[] = [];
    const other = { ...alice, sid: crypto.randomUUID() };
    const memberships = [
      bus.join(alice, "conn-1", (reason) => kicked.push(`conn-1 ${reason}`)),
      bus.join(alice, "conn-2", (reason) => kicked.push(`conn-2 ${reason}`)),
      bus.join(other, "conn-3", (reason) => kicked.push(`conn-3 ${reason}`)),
    ];
    await settled();
    bus.kick(alice.userId, { sid: alice.sid, except: "conn-1", reason: "logout" });
    await nc.flush();
    await settled();
    assert.deepEqual(kicked, ["conn-2 logout"]);
    bus.kick(alice.userId, { except: "conn-2", reason: "takeover" });
    await nc.flush();
    await settled();
    assert.deepEqual(kicked.sort(), ["conn-1 takeover", "conn-2 logout", "conn-3 takeover"]);
    for (const membership of memberships) membership.leave();
  });
});
