/**
 * PQXDH through the real services: a first message spends one of the recipient's one-time
 * ML-KEM prekeys and carries a post-quantum session setup; a server that strips the KEM
 * prekeys from a claimed bundle (to get a session a quantum computer could later open) is
 * refused by the sender, who sends nothing.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { WIRE_VERSION } from "@natter/crypto";
import { run } from "../../clients/cli/src/testing/harness.ts";
import { CliWorld } from "../support/cli-world.ts";

describe("post-quantum session setup against the real services", () => {
  let world: CliWorld;

  before(async () => {
    world = await CliWorld.start();
  });
  after(async () => {
    world.proxy.rewriteReplies(undefined);
    await world?.stop();
  });

  it("starts a session with PQXDH, spending one of the recipient's one-time KEM prekeys", async () => {
    const ann = await world.registered("ann-pq");
    const ben = await world.registered("ben-pq");
    const before = await world.probe.kemPrekeys("ben-pq");
    assert.ok(before.kemCount > 0, "register publishes one-time KEM prekeys");
    assert.equal(before.kemLastResort, true, "register publishes a last-resort KEM prekey");

    const sent = await run(world.recorded, ["--home", ann, "send", "ben-pq", "hello after the quantum computer"]);
    assert.equal(sent.code, 0, sent.err);
    assert.equal((await world.probe.kemPrekeys("ben-pq")).kemCount, before.kemCount - 1, "the claim handed out one one-time KEM prekey");
    const keys = world.proxy.received.filter((f) => f.t === "keys").at(-1);
    assert.ok(keys && keys.t === "keys" && keys.bundle.kemOneTimePrekey && keys.bundle.kemLastResortPrekey);
    const first = world.proxy.sent.filter((f) => f.t === "send").at(-1);
    assert.ok(first && first.t === "send");
    assert.equal(first.msg.body[0], WIRE_VERSION, "the first message is a PQXDH one");

    const got = await run(world.target, ["--home", ben, "receive", "--wait", "0.5"]);
    assert.equal(got.code, 0, got.err);
    assert.match(got.out, /hello after the quantum computer/);
  });

  it("refuses a bundle whose KEM prekeys the server stripped, and sends nothing", async () => {
    const cat = await world.registered("cat-pq");
    await world.registered("dan-pq");
    world.proxy.rewriteReplies((frame) => {
      if (frame.t !== "keys") return frame;
      const { kemLastResortPrekey: _l, kemOneTimePrekey: _o, ...stripped } = frame.bundle;
      return { ...frame, bundle: stripped };
    });
    try {
      const sends = world.proxy.sent.filter((f) => f.t === "send").length;
      const r = await run(world.recorded, ["--home", cat, "send", "dan-pq", "readable later?"]);
      assert.notEqual(r.code, 0, "the sender started a session without a KEM");
      assert.match(r.err, /NO_KEM_PREKEY|post-quantum/);
      assert.equal(world.proxy.sent.filter((f) => f.t === "send").length, sends, "nothing was sent");
    } finally {
      world.proxy.rewriteReplies(undefined);
    }
    // With an honest server again, the same sender gets through.
    const again = await run(world.recorded, ["--home", cat, "send", "dan-pq", "now with a KEM"]);
    assert.equal(again.code, 0, again.err);
  });
});
