import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { passwordProblem } from "./names.ts";

describe("passwords", () => {
  it("need at least 8 bytes", () => {
    assert.equal(passwordProblem("1234567"), "PASSWORD_TOO_SHORT");
    assert.equal(passwordProblem("12345678"), undefined);
  });

  it("may have 1024 bytes but not 1025: only a key stretched from them leaves the client, so bcrypt's 72 do not bind", () => {
    assert.equal(passwordProblem("a".repeat(73)), undefined);
    assert.equal(passwordProblem("a".repeat(1024)), undefined);
    assert.equal(passwordProblem("a".repeat(1025)), "PASSWORD_TOO_LONG");
  });

  it("are measured in UTF-8 bytes, not characters", () => {
    // "é" is 2 bytes: 512 of them are 1024 bytes, 513 are 1026.
    assert.equal(passwordProblem("é".repeat(512)), undefined);
    assert.equal(passwordProblem("é".repeat(513)), "PASSWORD_TOO_LONG");
    assert.equal(passwordProblem("🔑".repeat(256) + "a"), "PASSWORD_TOO_LONG");
  });
});
