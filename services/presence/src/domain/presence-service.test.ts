import { beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { FakeBlocks, FakeClock, MemoryLastSeen, RecordingSync } from "../../test/fakes.ts";
import { PresenceService } from "./presence-service.ts";

const user = (n: number, username: string) => ({ userId: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`, username });
const [ann, ben, cat, dan] = [user(1, "ann"), user(2, "ben"), user(3, "cat"), user(4, "dan")];
const MINUTE = 60_000;

describe("presence", () => {
  let clock: FakeClock;
  let lastSeen: MemoryLastSeen;
  let blocks: FakeBlocks;
  let sync: RecordingSync;
  let presence: PresenceService;
  const connect = (u: typeof ann, edge = "e1") => presence.receive({ t: "connect", ...u, edge, at: clock.now() });
  const disconnect = (u: typeof ann, edge = "e1") => presence.receive({ t: "disconnect", ...u, edge, at: clock.now() });
  const beat = (edge: string, connections = 0) =>
    presence.heartbeat({ edge, address: `${edge}:7400`, connections, draining: false, at: clock.now() });
  /** Lets time pass while edges e1 and e2 keep heartbeating, as live edges do. */
  const elapse = async (ms: number) => {
    for (let left = ms; left > 0; left -= 2000) {
      clock.advance(Math.min(2000, left));
      await Promise.all([beat("e1"), beat("e2")]);
    }
  };
  const who = async (u: typeof ann, lastHour = false) =>
    (await presence.who({ userId: u.userId, lastHour })).users.map((e) => `${e.username}:${e.online ? "online" : (clock.now() - e.lastSeen!) / MINUTE}`);

  beforeEach(() => {
    clock = new FakeClock();
    lastSeen = new MemoryLastSeen();
    blocks = new FakeBlocks();
    sync = new RecordingSync();
    presence = new PresenceService({ clock, lastSeen, blocks, sync }, { edgeTimeoutMs: 6000 });
  });

  it("lists who is online now, leaving out the asker", async () => {
    await Promise.all([connect(ann), connect(ben), connect(cat, "e2")]);
    assert.deepEqual(await who(ann), ["ben:online", "cat:online"]);
    await disconnect(ben);
    assert.deepEqual(await who(ann), ["cat:online"]);
  });

  it("adds those seen within the last hour when asked, with when", async () => {
    await Promise.all([connect(ann), connect(ben), connect(cat)]);
    await elapse(5 * MINUTE);
    await disconnect(ben);
    await elapse(10 * MINUTE);
    assert.deepEqual(await who(ann, true), ["ben:10", "cat:online"]);
    assert.deepEqual(await who(ann), ["cat:online"]);
    await elapse(50 * MINUTE);
    assert.deepEqual(await who(ann, true), ["ben:60", "cat:online"], "an hour ago exactly still counts");
    await elapse(1);
    assert.deepEqual(await who(ann, true), ["cat:online"]);
  });

  it("reads last-seen times other replicas wrote", async () => {
    await lastSeen.record([{ ...dan, seenAt: clock.now() - 20 * MINUTE }, { ...cat, seenAt: clock.now() - 61 * MINUTE }]);
    assert.deepEqual(await who(ann, true), ["dan:20"]);
    assert.equal(lastSeen.rows.get(ann.userId), undefined);
  });

  it("records last seen on connect, disconnect and edge expiry", async () => {
    await beat("e1");
    await connect(ann);
    assert.equal(lastSeen.rows.get(ann.userId)?.seenAt, clock.now());
    const heard = clock.now();
    clock.advance(5999);
    assert.deepEqual(await presence.expire(), []);
    clock.advance(1);
    assert.deepEqual(await presence.expire(), ["e1"]);
    assert.equal(lastSeen.rows.get(ann.userId)?.seenAt, heard, "last seen when the edge last was");
  });

  it("takes a silent edge's users offline by the next answer, whatever the timer did", async () => {
    await beat("e1");
    await beat("e2");
    await Promise.all([connect(ann, "e2"), connect(ben), connect(cat)]);
    clock.advance(4000);
    await beat("e2");
    clock.advance(2000);
    assert.deepEqual(await who(ann), []);
    assert.deepEqual((await presence.edges()).edges.map((e) => e.edge), ["e2"]);
  });

  it("hides anyone the asker blocked or who blocked the asker", async () => {
    await Promise.all([connect(ann), connect(ben), connect(cat), connect(dan)]);
    await disconnect(dan);
    blocks.block(ann.userId, ben.userId);
    blocks.block(dan.userId, ann.userId);
    assert.deepEqual(await who(ann, true), ["cat:online"]);
    assert.deepEqual(await who(ben), ["cat:online"]);
    assert.deepEqual(await who(cat, true), ["ann:online", "ben:online", "dan:0"]);
  });

  it("asks every edge at start and each new edge as it appears", async () => {
    presence.resync();
    await beat("e1");
    await beat("e1");
    await beat("e2");
    assert.deepEqual(sync.requests, [undefined, "e1", "e2"]);
  });

  it("learns who is online from sync answers", async () => {
    await presence.receive({ t: "online", edge: "e1", users: [{ ...ann, connections: 1 }, { ...ben, connections: 1 }], at: clock.now(), last: true });
    assert.deepEqual(await who(cat), ["ann:online", "ben:online"]);
  });

  it("lists live edges for redirects", async () => {
    await beat("e1", 10);
    await beat("e2", 2);
    assert.deepEqual(await presence.edges(), {
      edges: [
        { edge: "e2", address: "e2:7400", connections: 2, draining: false },
        { edge: "e1", address: "e1:7400", connections: 10, draining: false },
      ],
    });
  });

  it("never sees anyone in the future", async () => {
    await presence.receive({ t: "disconnect", ...ann, edge: "e1", at: clock.now() + 60 * MINUTE });
    assert.equal(lastSeen.rows.get(ann.userId)?.seenAt, clock.now());
  });
});
