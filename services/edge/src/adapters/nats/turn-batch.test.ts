import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TurnBatch } from "./turn-batch.ts";

describe("turn batch", () => {
  it("runs deferred work after the turn's synchronous work and microtasks, in order", async () => {
    const turn = new TurnBatch();
    const seen: string[] = [];
    turn.defer(() => seen.push("first"));
    void turn.end().then(() => seen.push("waiter"));
    turn.defer(() => seen.push("second"));
    await Promise.resolve();
    seen.push("microtask");
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(seen, ["microtask", "first", "second", "waiter"]);
  });

  it("hands every waiter of one turn the same moment, and a later turn a new one", async () => {
    const turn = new TurnBatch();
    const a = turn.end();
    const b = turn.end();
    assert.equal(a, b);
    await a;
    assert.notEqual(turn.end(), a);
  });
});
