import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkUsername } from "./credentials.ts";

describe("usernames", () => {
  it("are case-folded", () => {
    assert.equal(checkUsername("Alice.Smith_1"), "alice.smith_1");
  });

  it("are 3 to 32 of a-z 0-9 _ . -", () => {
    for (const ok of ["abc", "a".repeat(32), "a-b.c_d", "007"]) assert.doesNotThrow(() => checkUsername(ok), ok);
    for (const bad of ["ab", "a".repeat(33), "has space", "émile", "a/b", "", "al!ce"]) {
      assert.throws(() => checkUsername(bad), { code: "INVALID_USERNAME" }, bad);
    }
  });
});
