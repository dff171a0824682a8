import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Admission } from "./admission.ts";

describe("admission of connections not yet logged in", () => {
  it("refuses one more from an address past its cap, and takes it again once one leaves", () => {
    const admission = new Admission({ perAddress: 2, total: 10, preLoginRate: 1 });
    assert.deepEqual([admission.admit("a"), admission.admit("a"), admission.admit("a"), admission.admit("b")], [true, true, false, true]);
    admission.release("a");
    assert.equal(admission.admit("a"), true);
    assert.equal(admission.waitingConnections, 3);
  });

  it("refuses anyone past the cap over all addresses", () => {
    const admission = new Admission({ perAddress: 5, total: 2, preLoginRate: 1 });
    assert.deepEqual([admission.admit("a"), admission.admit("b"), admission.admit("c")], [true, true, false]);
  });

  it("limits frames before login per address, and forgets an address once its bucket is full again", () => {
    let now = 0;
    const admission = new Admission({ perAddress: 5, total: 5, preLoginRate: 1 }, () => now);
    assert.deepEqual([admission.preLoginFrame("a"), admission.preLoginFrame("a"), admission.preLoginFrame("a")], [true, true, false]);
    assert.equal(admission.preLoginFrame("b"), true, "another address has its own");
    now = 10_000;
    admission.sweep();
    assert.deepEqual([admission.preLoginFrame("a"), admission.preLoginFrame("a"), admission.preLoginFrame("a")], [true, true, false]);
  });
});
