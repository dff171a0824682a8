import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { OnlineView } from "./online-view.ts";

const T0 = Date.UTC(2030, 0, 1);
const alice = { userId: "00000000-0000-4000-8000-00000000000a", username: "alice" };
const bob = { userId: "00000000-0000-4000-8000-00000000000b", username: "bob" };
const beat = (edge: string, more: { connections?: number; draining?: boolean; instance?: string } = {}) =>
  ({ edge, address: `${edge}.local:7400`, connections: more.connections ?? 0, draining: more.draining ?? false, instance: more.instance });
const names = (view: OnlineView) => view.onlineUsers().map((u) => u.username).sort();

describe("the online view", () => {
  it("shows a user from connect until their last connection closes", () => {
    const view = new OnlineView(6000);
    view.connect("e1", alice, T0);
    view.connect("e2", alice, T0);
    view.connect("e1", bob, T0);
    assert.deepEqual(names(view), ["alice", "bob"]);
    assert.deepEqual(view.disconnect("e1", alice, T0 + 1, T0 + 1), [], "still connected to e2");
    assert.deepEqual(names(view), ["alice", "bob"]);
    assert.deepEqual(view.disconnect("e2", alice, T0 + 2, T0 + 2), [{ ...alice, seenAt: T0 + 2 }]);
    assert.deepEqual(names(view), ["bob"]);
    assert.deepEqual(view.seenSince(T0), [{ ...alice, seenAt: T0 + 2 }]);
    view.connect("e1", alice, T0 + 3);
    assert.deepEqual(view.seenSince(T0), [], "online again: no longer 'last seen'");
  });

  it("counts two connections of a user on one edge", () => {
    const view = new OnlineView(6000);
    view.connect("e1", alice, T0);
    view.connect("e1", alice, T0);
    view.disconnect("e1", alice, T0, T0);
    assert.ok(view.isOnline(alice.userId));
    view.disconnect("e1", alice, T0, T0);
    assert.ok(!view.isOnline(alice.userId));
  });

  it("takes all users of an edge offline together once its heartbeats stop for the timeout", () => {
    const view = new OnlineView(6000);
    view.heartbeat(beat("e1"), T0);
    view.heartbeat(beat("e2"), T0);
    view.connect("e1", alice, T0 + 100);
    view.connect("e1", bob, T0 + 200);
    view.connect("e2", bob, T0 + 300);
    for (let t = T0 + 2000; t <= T0 + 6000; t += 2000) view.heartbeat(beat("e2"), t);
    assert.deepEqual(view.expire(T0 + 6199), { edges: [], offline: [] }, "not before the timeout");
    assert.deepEqual(view.expire(T0 + 6200), { edges: ["e1"], offline: [{ ...alice, seenAt: T0 + 200 }] }, "bob is still on e2");
    assert.deepEqual(names(view), ["bob"]);
    assert.deepEqual(view.liveEdges().map((e) => e.edge), ["e2"]);
  });

  it("lists live edges least loaded first and draining ones last", () => {
    const view = new OnlineView(6000);
    view.heartbeat(beat("busy", { connections: 90 }), T0);
    view.heartbeat(beat("idle", { connections: 3 }), T0);
    view.heartbeat(beat("leaving", { connections: 0, draining: true }), T0);
    view.connect("silent", alice, T0);
    assert.deepEqual(view.liveEdges(), [
      { edge: "idle", address: "idle.local:7400", connections: 3, draining: false },
      { edge: "busy", address: "busy.local:7400", connections: 90, draining: false },
      { edge: "leaving", address: "leaving.local:7400", connections: 0, draining: true },
    ], "an edge that never sent a heartbeat has no address to list");
  });

  it("asks a new edge, or one back from the dead, who is connected", () => {
    const view = new OnlineView(6000);
    assert.equal(view.heartbeat(beat("e1"), T0).resync, true);
    assert.equal(view.heartbeat(beat("e1"), T0 + 2000).resync, false);
    view.expire(T0 + 9000);
    assert.equal(view.heartbeat(beat("e1"), T0 + 9000).resync, true);
  });

  it("forgets the users of an edge's previous run when it restarts under the same name", () => {
    const view = new OnlineView(6000);
    view.heartbeat(beat("e1", { instance: "run-1" }), T0);
    view.connect("e1", alice, T0);
    const restarted = view.heartbeat(beat("e1", { instance: "run-2" }), T0 + 2000);
    assert.deepEqual(restarted, { resync: true, offline: [{ ...alice, seenAt: T0 + 2000 }] });
    assert.deepEqual(names(view), []);
  });

  it("replaces an edge's users with its sync answer, batch by batch", () => {
    const view = new OnlineView(6000);
    view.connect("e1", alice, T0);
    assert.deepEqual(view.online("e1", { users: [{ ...bob, connections: 2 }], at: T0 + 5, last: false }, T0 + 5), []);
    assert.deepEqual(names(view), ["alice"], "nothing changes before the last batch");
    const offline = view.online("e1", { users: [], at: T0 + 5, last: true }, T0 + 6);
    assert.deepEqual(offline, [{ ...alice, seenAt: T0 + 5 }], "a disconnect the view missed");
    assert.deepEqual(names(view), ["bob"]);
    view.online("e1", { users: [{ ...bob, connections: 2 }], at: T0 + 5, last: true }, T0 + 7);
    view.disconnect("e1", bob, T0 + 8, T0 + 8);
    assert.ok(view.isOnline(bob.userId), "the same answer twice changes nothing; bob had two connections");
  });

  it("drops a half-received answer when a new one starts", () => {
    const view = new OnlineView(6000);
    view.online("e1", { users: [{ ...alice, connections: 1 }], at: T0, last: false }, T0);
    view.online("e1", { users: [{ ...bob, connections: 1 }], at: T0 + 1, last: true }, T0 + 1);
    assert.deepEqual(names(view), ["bob"]);
  });

  it("remembers who went offline for an hour", () => {
    const view = new OnlineView(6000);
    view.connect("e1", alice, T0);
    view.disconnect("e1", alice, T0, T0);
    view.expire(T0 + 3_600_000);
    assert.equal(view.seenSince(T0).length, 1);
    view.expire(T0 + 3_600_001);
    assert.equal(view.seenSince(0).length, 0);
  });
});
