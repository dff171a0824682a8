/**
 * Draining someone's one-time prekeys: a claimer who asks for the same user's bundle again
 * and again is refused past the limit, and the target keeps the rest of its prekeys.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ServerFrame } from "@natter/protocol";
import { account, startServers, type Servers } from "../support/in-process.ts";

let servers: Servers;

before(async () => {
  servers = await startServers();
});

after(async () => {
  await servers?.stop();
});

const code = (reply: ServerFrame) => (reply.t === "error" ? reply.code : reply.t);
const prekeys = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ id: from + i, publicKey: `otk${from + i}`, signature: "sig" }));

describe("prekey claims", () => {
  it("refuses 100 claims in a row past the limit and leaves the target its prekeys", async () => {
    const alice = await account(servers.address());
    const mallory = await account(servers.address());
    const bob = await account(servers.address());
    await alice.client.ok({ t: "prekeys", add: prekeys(100, 50), replace: true });

    const codes: string[] = [];
    for (let i = 0; i < 100; i++) codes.push(code(await mallory.client.request({ t: "claim", user: alice.name })));
    const granted = codes.filter((c) => c === "keys").length;
    assert.ok(codes.includes("RATE_LIMITED"), "no claim was refused");
    assert.deepEqual(new Set(codes), new Set(["keys", "RATE_LIMITED"]));
    assert.equal(codes.indexOf("RATE_LIMITED"), granted, "a claim was granted after the first refusal");

    // Someone else still starts a session with alice, with a one-time prekey left for them.
    const keys = await bob.client.ok<"keys">({ t: "claim", user: alice.name });
    assert.ok(keys.bundle.oneTimePrekey, "alice's one-time prekeys were drained");
    const left = await alice.client.ok<"prekeys">({ t: "prekeys", add: [] });
    assert.equal(left.count, 50 - granted - 1);
    for (const c of [alice, mallory, bob]) c.client.close();
  });
});
