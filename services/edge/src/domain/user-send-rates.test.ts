import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { UserSendRates } from "./user-send-rates.ts";

describe("the send rate of a user", () => {
  it("is one bucket for all of the user's connections, with a burst of twice the rate", () => {
    const rates = new UserSendRates(2, () => 0);
    const taken = Array.from({ length: 5 }, () => rates.take("ann"));
    assert.deepEqual(taken, [true, true, true, true, false]);
    assert.equal(rates.take("bob"), true, "another user has their own");
  });

  it("charges what other edges report, and reports what was spent here once", () => {
    const rates = new UserSendRates(2, () => 0);
    rates.take("ann");
    rates.spentElsewhere("ann", 3);
    assert.equal(rates.take("ann"), false, "four spent of a burst of four");
    assert.deepEqual(rates.takeUsage(), [["ann", 1]]);
    assert.deepEqual(rates.takeUsage(), []);
  });

  it("charges a user who has not sent here yet", () => {
    const rates = new UserSendRates(2, () => 0);
    rates.spentElsewhere("ann", 4);
    assert.equal(rates.take("ann"), false);
  });

  it("forgets users whose bucket has filled again", () => {
    let now = 0;
    const rates = new UserSendRates(2, () => now);
    rates.take("ann");
    now = 5_000;
    rates.takeUsage();
    assert.equal(rates.size, 0);
  });
});
