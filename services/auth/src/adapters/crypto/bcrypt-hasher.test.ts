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

  it("turns work away with UNAVAILABLE once the queue holds more than 3 s of hashing, and finishes the rest", async () => {
    const hasher = new BcryptHasher(10, 1);
    const encoded = await hasher.hash("correct horse battery");
    const started = performance.now();
    await hasher.verify("correct horse battery", encoded);
    const oneHash = performance.now() - started;
    const burst = Math.ceil(6000 / oneHash);
    const outcomes = await Promise.allSettled(Array.from({ length: burst }, () => hasher.verify("correct horse battery", encoded)));
    const refused = outcomes.filter((o) => o.status === "rejected");
    assert.ok(refused.length > 0, `a burst of ${burst} hashes of ${oneHash.toFixed(0)} ms each was all taken`);
    assert.ok(refused.length < burst, "nothing was taken");
    for (const o of refused) {
      assert.ok(o.reason instanceof NatterError);
      assert.equal(o.reason.code, "UNAVAILABLE");
    }
    for (const o of outcomes) if (o.status === "fulfilled") assert.equal(o.value, true);
    assert.equal(await hasher.verify("correct horse battery", encoded), true, "takes work again once the queue drained");
  });
});
