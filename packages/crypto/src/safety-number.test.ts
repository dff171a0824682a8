import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { providers } from "../test/providers.ts";
import { DeviceIdentity } from "./identity.ts";
import { safetyNumber } from "./safety-number.ts";

describe("safety numbers", () => {
  it("are the same on both sides and on every provider, 12 groups of 5 digits, and change with a key", async () => {
    const [a] = providers;
    const alice = await DeviceIdentity.generate(a!.p, { oneTimePrekeys: 0 });
    const bob = await DeviceIdentity.generate(a!.p, { oneTimePrekeys: 0 });
    const mine = { userId: "alice", identityKey: alice.identityKey };
    const theirs = { userId: "bob", identityKey: bob.identityKey };
    const [one, two, ...others] = await Promise.all([
      safetyNumber(a!.p, mine, theirs),
      safetyNumber(a!.p, theirs, mine),
      ...providers.slice(1).map((b) => safetyNumber(b.p, theirs, mine)),
    ]);
    assert.match(one!, /^\d{5}( \d{5}){11}$/);
    assert.equal(one, two);
    for (const three of others) assert.equal(one, three);
    const eve = await DeviceIdentity.generate(a!.p, { oneTimePrekeys: 0 });
    assert.notEqual(await safetyNumber(a!.p, mine, { userId: "bob", identityKey: eve.identityKey }), one);
    assert.notEqual(await safetyNumber(a!.p, mine, { userId: "bobby", identityKey: bob.identityKey }), one);
  });
});
