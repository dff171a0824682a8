import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { NatterError } from "@natter/protocol";
import { BcryptHasher } from "./bcrypt-hasher.ts";

describe("bcrypt hasher", () => {
  it("verifies what it hashed and refuses a wrong password", async () => {
    const hasher = new BcryptHasher(4, 1);
    const encoded = await hasher.hash("correct horse battery");
    assert.equal(await hasher.verify("correct horse battery", encoded), true);
    assert.equal(await hasher.verify("wrong horse battery", encoded), false);
  });

  it("turns work away with UNAVAILABLE once its queue is full, and finishes the rest", async () => {
    const hasher = new BcryptHasher(4, 1);
    const encoded = await hasher.hash("correct horse battery");
    const outcomes = await Promise.allSettled(Array.from({ length: 80 }, () => hasher.verify("correct horse battery", encoded)));
    const refused = outcomes.filter((o) => o.status === "rejected");
    assert.ok(refused.length >= 80 - 65, `expected at least 15 refusals, got ${refused.length}`);
    for (const o of refused) {
      assert.ok(o.reason instanceof NatterError);
      assert.equal(o.reason.code, "UNAVAILABLE");
    }
    for (const o of outcomes) if (o.status === "fulfilled") assert.equal(o.value, true);
    assert.equal(await hasher.verify("correct horse battery", encoded), true, "takes work again once the queue drained");
  });
});
