import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TokenBucket } from "./token-bucket.ts";

describe("token bucket", () => {
  it("allows a burst, then refills at the rate", () => {
    let now = 0;
    const bucket = new TokenBucket(10, 3, () => now);
    assert.deepEqual([bucket.take(), bucket.take(), bucket.take(), bucket.take()], [true, true, true, false]);
    now = 100; // 0.1 s at 10/s is one token
    assert.equal(bucket.take(), true);
    assert.equal(bucket.take(), false);
    now = 10_000;
    assert.equal([1, 2, 3, 4].filter(() => bucket.take()).length, 3, "never more than the burst");
  });
});
