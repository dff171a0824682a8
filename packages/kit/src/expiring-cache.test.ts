import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ExpiringCache } from "./expiring-cache.ts";

/** A load that resolves when told to, counting how often it was started. */
function gate<V>() {
  let started = 0;
  let release: (value: V) => void = () => undefined;
  let fail: (error: Error) => void = () => undefined;
  const load = () => {
    started += 1;
    return new Promise<V>((resolve, reject) => {
      release = resolve;
      fail = reject;
    });
  };
  return { load, release: (value: V) => release(value), fail: (error: Error) => fail(error), started: () => started };
}

describe("expiring cache", () => {
  it("remembers an answer and asks no more", async () => {
    const cache = new ExpiringCache<number>(60_000, 10);
    let loads = 0;
    const load = async () => ++loads;
    assert.equal(await cache.get("a", load), 1);
    assert.equal(await cache.get("a", load), 1);
    assert.equal(loads, 1);
  });

  it("shares a load in flight between the callers that ask meanwhile", async () => {
    const cache = new ExpiringCache<string>(60_000, 10);
    const slow = gate<string>();
    const first = cache.get("a", slow.load);
    const second = cache.get("a", slow.load);
    slow.release("yes");
    assert.deepEqual(await Promise.all([first, second]), ["yes", "yes"]);
    assert.equal(slow.started(), 1);
  });

  it("keeps no failed load: the next caller asks again", async () => {
    const cache = new ExpiringCache<string>(60_000, 10);
    const failing = gate<string>();
    const first = cache.get("a", failing.load);
    const second = cache.get("a", failing.load);
    failing.fail(new Error("down"));
    await assert.rejects(first, /down/);
    await assert.rejects(second, /down/);
    assert.equal(await cache.get("a", async () => "back"), "back");
  });

  it("does not keep an answer fetched before the key was forgotten, and fetches anew after", async () => {
    const cache = new ExpiringCache<string>(60_000, 10);
    const stale = gate<string>();
    const before = cache.get("a", stale.load);
    cache.forget("a");
    const fresh = gate<string>();
    const after = cache.get("a", fresh.load);
    assert.equal(fresh.started(), 1, "a caller after the forget does not share the old fetch");
    stale.release("old");
    fresh.release("new");
    assert.equal(await before, "old");
    assert.equal(await after, "new");
    assert.equal(await cache.get("a", async () => "unused"), "new");
  });

  it("forgets everything at once, loads in flight included", async () => {
    const cache = new ExpiringCache<string>(60_000, 10);
    await cache.get("a", async () => "kept");
    const inFlight = gate<string>();
    const pending = cache.get("b", inFlight.load);
    cache.forgetAll();
    inFlight.release("old");
    await pending;
    assert.equal(await cache.get("a", async () => "again"), "again");
    assert.equal(await cache.get("b", async () => "again"), "again");
  });

  it("lets the oldest answer go when full", async () => {
    const cache = new ExpiringCache<string>(60_000, 2);
    for (const key of ["a", "b", "c"]) await cache.get(key, async () => key);
    assert.equal(await cache.get("a", async () => "fetched again"), "fetched again");
    assert.equal(await cache.get("c", async () => "unused"), "c");
  });

  it("asks again once an answer is older than its time to live", async () => {
    const cache = new ExpiringCache<string>(1, 10);
    await cache.get("a", async () => "first");
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(await cache.get("a", async () => "second"), "second");
  });
});
