import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { planGroupSend } from "./sender-key-plan.ts";

const ME = "me";
const members = (...ids: Array<[string, number]>) => [{ userId: ME, joinedAt: 1 }, ...ids.map(([userId, joinedAt]) => ({ userId, joinedAt }))];

describe("sender key rotation decisions", () => {
  it("makes a first key and sends it to every other member", () => {
    assert.deepEqual(planGroupSend({ hasKey: false, sentTo: {}, rotate: false }, members(["bob", 2], ["carol", 3]), ME), { newKey: true, distributeTo: ["bob", "carol"] });
  });

  it("sends nothing extra when everyone has the current key", () => {
    assert.deepEqual(planGroupSend({ hasKey: true, sentTo: { bob: 2, carol: 3 }, rotate: false }, members(["bob", 2], ["carol", 3]), ME), { newKey: false, distributeTo: [] });
  });

  it("gives a member added later the current key, without rotating", () => {
    assert.deepEqual(planGroupSend({ hasKey: true, sentTo: { bob: 2 }, rotate: false }, members(["bob", 2], ["dave", 9]), ME), { newKey: false, distributeTo: ["dave"] });
  });

  it("rotates when someone who had my key is no longer a member", () => {
    assert.deepEqual(planGroupSend({ hasKey: true, sentTo: { bob: 2, carol: 3 }, rotate: false }, members(["bob", 2]), ME), { newKey: true, distributeTo: ["bob"] });
  });

  it("rotates when a member left and came back (a different joinedAt)", () => {
    assert.deepEqual(planGroupSend({ hasKey: true, sentTo: { bob: 2, carol: 3 }, rotate: false }, members(["bob", 2], ["carol", 7]), ME), { newKey: true, distributeTo: ["bob", "carol"] });
  });

  it("rotates after a left or removed event, even when the member list looks unchanged", () => {
    assert.deepEqual(planGroupSend({ hasKey: true, sentTo: { bob: 2 }, rotate: true }, members(["bob", 2]), ME), { newKey: true, distributeTo: ["bob"] });
  });

  it("never sends my key to myself, and needs nobody in a group of one", () => {
    assert.deepEqual(planGroupSend({ hasKey: true, sentTo: {}, rotate: false }, members(), ME), { newKey: false, distributeTo: [] });
  });
});
