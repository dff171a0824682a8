import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { backoffDelay } from "./backoff.ts";
import { formatServer, parseServers, rotation } from "./servers.ts";

describe("server addresses", () => {
  it("parses a comma-separated list, IPv6 in brackets, 7400 by default", () => {
    assert.deepEqual(parseServers("a:1, b ,[::1]:7401"), [
      { host: "a", port: 1 },
      { host: "b", port: 7400 },
      { host: "::1", port: 7401 },
    ]);
    assert.equal(formatServer({ host: "::1", port: 7401 }), "[::1]:7401");
  });

  it("refuses what is not an address", () => {
    for (const bad of ["", ",", "a:0", "a:70000", "a:b"]) assert.throws(() => parseServers(bad), { code: "USAGE" }, bad);
  });

  it("tries every address once, from a random start", () => {
    fc.assert(
      fc.property(fc.array(fc.integer(), { minLength: 1, maxLength: 8 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (xs, r) => {
        const order = rotation(xs, () => r);
        assert.deepEqual([...order].sort(), [...xs].sort());
      }),
    );
  });
});

describe("reconnect backoff", () => {
  it("starts near 0.2 s, grows, and never passes 5 s", () => {
    assert.ok(backoffDelay(0, () => 0) >= 100 && backoffDelay(0, () => 1) <= 200);
    fc.assert(
      fc.property(fc.nat(100), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, r) => {
        const d = backoffDelay(attempt, () => r);
        return d >= 100 && d <= 5_000;
      }),
    );
    assert.equal(backoffDelay(30, () => 1), 5_000);
  });
});
