import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { code, rejectsWith, str, text } from "../test/fixtures.ts";
import { providers } from "../test/providers.ts";
import { fromBase64url, toBase64url } from "./bytes.ts";
import { kdfCk } from "./ratchet.ts";
import { InboundSenderKeys, MAX_SENDER_KEY_JUMP, OutboundSenderKey, senderKeyGroupId, senderKeyMessageInfo } from "./sender-keys.ts";

for (const { name, p } of providers) {

  describe(`sender keys on ${name}`, () => {
    it("encrypts for the group and exposes routing fields", async () => {
      const out = await OutboundSenderKey.create(p, "g1");
      const inbound = await InboundSenderKeys.fromDistribution(p, out.distribution());
      const wire = await out.encrypt(text("hello group"));
      assert.equal(senderKeyGroupId(wire), "g1");
      assert.deepEqual(senderKeyMessageInfo(wire), { groupId: "g1", keyId: out.keyId, iteration: 0 });
      assert.equal(str(await inbound.decrypt(wire)), "hello group");
      await rejectsWith(() => inbound.decrypt(wire), "DUPLICATE_MESSAGE");
    });

    it("rejects a forged signature and any flipped byte, and keeps working", async () => {
      const out = await OutboundSenderKey.create(p, "g");
      const inbound = await InboundSenderKeys.fromDistribution(p, out.distribution());
      const wire = await out.encrypt(text("signed"));
      const forged = wire.slice();
      forged[forged.length - 1]! ^= 1;
      await rejectsWith(() => inbound.decrypt(forged), "BAD_SIGNATURE");
      for (let i = 0; i < wire.length; i += 3) {
        const bad = wire.slice();
        bad[i]! ^= 0x80;
        assert.notEqual(await code(() => inbound.decrypt(bad)), null, `byte ${i}`);
      }
      assert.equal(str(await inbound.decrypt(wire)), "signed");
    });

    it("bounds forward jumps with TOO_MANY_SKIPPED", async () => {
      const out = await OutboundSenderKey.create(p, "g");
      const inbound = await InboundSenderKeys.fromDistribution(p, out.distribution());
      // A copy of the sender whose chain has really advanced past the bound.
      const json = out.toJSON();
      let ck = fromBase64url(json.chainKey);
      for (let i = 0; i <= MAX_SENDER_KEY_JUMP; i++) ck = (await kdfCk(p, ck)).ck;
      const far = OutboundSenderKey.fromJSON(p, { ...json, chainKey: toBase64url(ck), iteration: MAX_SENDER_KEY_JUMP + 1 });
      await rejectsWith(async () => inbound.decrypt(await far.encrypt(text("far"))), "TOO_MANY_SKIPPED");
      assert.equal(str(await inbound.decrypt(await out.encrypt(text("near")))), "near");
    });

    it("a removed member cannot read a message made after rotation", async () => {
      const out = await OutboundSenderKey.create(p, "g");
      const removed = await InboundSenderKeys.fromDistribution(p, out.distribution());
      const stays = await InboundSenderKeys.fromDistribution(p, out.distribution());
      await removed.decrypt(await out.encrypt(text("before")));
      const next = await out.rotate();
      assert.notEqual(next.keyId, out.keyId);
      await stays.add(next.distribution());
      const after = await next.encrypt(text("after"));
      assert.equal(str(await stays.decrypt(after)), "after");
      await rejectsWith(() => removed.decrypt(after), "UNKNOWN_SENDER_KEY");
    });

    it("a member who joins later cannot read earlier messages", async () => {
      const out = await OutboundSenderKey.create(p, "g");
      const early = await out.encrypt(text("early"));
      const late = await InboundSenderKeys.fromDistribution(p, out.distribution());
      assert.equal(await code(() => late.decrypt(early)), "DECRYPT_FAILED");
      assert.equal(str(await late.decrypt(await out.encrypt(text("now")))), "now");
    });

    it("round-trips both sides through JSON mid-conversation", async () => {
      const out = await OutboundSenderKey.create(p, "g");
      const inbound = await InboundSenderKeys.fromDistribution(p, out.distribution());
      const skipped = await out.encrypt(text("skipped"));
      await inbound.decrypt(await out.encrypt(text("one")));
      const out2 = OutboundSenderKey.fromJSON(p, JSON.parse(JSON.stringify(out)));
      const in2 = InboundSenderKeys.fromJSON(p, JSON.parse(JSON.stringify(inbound)));
      assert.equal(str(await in2.decrypt(skipped)), "skipped");
      assert.equal(str(await in2.decrypt(await out2.encrypt(text("two")))), "two");
    });

    it("a group of five survives drops, reordering and duplicates (property)", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ from: fc.nat(4), drop: fc.nat(7), dup: fc.nat(5) }), { minLength: 1, maxLength: 20 }),
          fc.nat(),
          async (plan, seed) => {
            const members = await Promise.all([0, 1, 2, 3, 4].map(() => OutboundSenderKey.create(p, "five")));
            const inbound = await Promise.all(
              members.map(async (_, me) => Promise.all(members.map((m, j) => (j === me ? null : InboundSenderKeys.fromDistribution(p, m.distribution()))))),
            );
            const flight: { to: number; from: number; wire: Uint8Array; body: string }[] = [];
            for (const [i, step] of plan.entries()) {
              const body = `${step.from}:${i}`;
              const wire = await members[step.from]!.encrypt(text(body));
              for (let to = 0; to < 5; to++) {
                if (to === step.from || step.drop === 0) continue;
                flight.push({ to, from: step.from, wire, body });
                if (step.dup === 0) flight.push({ to, from: step.from, wire, body });
              }
            }
            // Deterministic shuffle from the seed.
            let s = seed;
            for (let i = flight.length - 1; i > 0; i--) {
              s = (s * 1103515245 + 12345) >>> 0;
              const j = s % (i + 1);
              [flight[i], flight[j]] = [flight[j]!, flight[i]!];
            }
            const seen = new Set<string>();
            for (const f of flight) {
              const key = `${f.to}/${f.body}`;
              try {
                assert.equal(str(await inbound[f.to]![f.from]!.decrypt(f.wire)), f.body);
                assert.ok(!seen.has(key));
                seen.add(key);
              } catch (e) {
                assert.equal((e as { code?: string }).code, "DUPLICATE_MESSAGE");
                assert.ok(seen.has(key));
              }
            }
          },
        ),
        { numRuns: 15 },
      );
    });
  });
}
