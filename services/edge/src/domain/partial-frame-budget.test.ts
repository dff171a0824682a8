import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PartialFrameBudget } from "./partial-frame-budget.ts";

describe("the budget of unfinished frames", () => {
  it("lets connections not logged in fill half of it, and logged-in ones the rest", () => {
    const budget = new PartialFrameBudget(100);
    assert.equal(budget.hold(50, false), true);
    assert.equal(budget.hold(1, false), false);
    assert.equal(budget.hold(50, true), true);
    assert.equal(budget.hold(1, true), false);
    budget.free(60);
    assert.equal(budget.inUse, 40);
  });
});
