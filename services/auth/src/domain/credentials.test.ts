import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkNewPassword, checkUsername } from "./credentials.ts";

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

describe("new passwords", () => {
  it("need at least 8 bytes", () => {
    assert.throws(() => checkNewPassword("1234567"), { code: "PASSWORD_TOO_SHORT" });
    assert.doesNotThrow(() => checkNewPassword("12345678"));
  });

  it("may have 72 bytes but not 73, never cut", () => {
    assert.doesNotThrow(() => checkNewPassword("a".repeat(72)));
    assert.throws(() => checkNewPassword("a".repeat(73)), { code: "PASSWORD_TOO_LONG" });
  });

  it("are measured in UTF-8 bytes, not characters", () => {
    // "é" is 2 bytes: 36 of them are 72 bytes, 37 are 74 bytes though only 37 characters.
    assert.doesNotThrow(() => checkNewPassword("é".repeat(36)));
    assert.throws(() => checkNewPassword("é".repeat(37)), { code: "PASSWORD_TOO_LONG" });
    // 4-byte emoji: 18 = 72 bytes ok; 18 plus one ASCII = 73 bytes refused.
    assert.doesNotThrow(() => checkNewPassword("🔑".repeat(18)));
    assert.throws(() => checkNewPassword("🔑".repeat(18) + "a"), { code: "PASSWORD_TOO_LONG" });
  });
});
