import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Balancer } from "./balancer.ts";

describe("balancer", () => {
  it("keeps clients while no peer is clearly less loaded", () => {
    const balancer = new Balancer(() => ({ name: "a", address: "a:1" }), 6000, () => 0);
    balancer.heard("b", { address: "b:1", connections: 9, draining: false });
    assert.equal(balancer.redirect(10, false), undefined);
  });

  it("spreads a burst evenly between heartbeats", () => {
    const balancer = new Balancer(() => ({ name: "a", address: "a:1" }), 6000, () => 0);
    balancer.heard("b", { address: "b:1", connections: 0, draining: false });
    balancer.heard("c", { address: "c:1", connections: 0, draining: false });
    const kept: Record<string, number> = { a: 0, "b:1": 0, "c:1": 0 };
    for (let i = 0; i < 30; i++) {
      const to = balancer.redirect(kept["a"]!, false);
      kept[to ?? "a"]! += 1;
    }
    for (const count of Object.values(kept)) assert.ok(count >= 8 && count <= 12, JSON.stringify(kept));
  });

  it("never redirects to its own address (edges behind one load balancer)", () => {
    const balancer = new Balancer(() => ({ name: "a", address: "lb:7400" }), 6000, () => 0);
    balancer.heard("b", { address: "lb:7400", connections: 0, draining: false });
    assert.equal(balancer.redirect(100, false), undefined);
  });

  it("never sends to a draining or silent peer, and a draining edge sends everyone away", () => {
    let now = 0;
    const balancer = new Balancer(() => ({ name: "a", address: "a:1" }), 6000, () => now);
    balancer.heard("b", { address: "b:1", connections: 0, draining: true });
    assert.equal(balancer.redirect(50, false), undefined);
    balancer.heard("c", { address: "c:1", connections: 80, draining: false });
    assert.equal(balancer.redirect(0, true), "c:1");
    now = 7000;
    assert.equal(balancer.redirect(100, true), undefined, "c has gone quiet");
  });

  it("keeps a client that comes back with a session where it landed, unless the edge drains", () => {
    const balancer = new Balancer(() => ({ name: "a", address: "a:1" }), 6000, () => 0);
    balancer.heard("b", { address: "b:1", connections: 0, draining: false });
    assert.equal(balancer.redirect(1000, false, true), undefined);
    assert.equal(balancer.redirect(1000, false), "b:1", "a new client is still balanced");
    assert.equal(balancer.redirect(1000, true, true), "b:1");
  });
});
