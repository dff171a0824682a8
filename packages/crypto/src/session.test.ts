import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { claim, code, established, rejectsWith, str, text } from "../test/fixtures.ts";
import { providers } from "../test/providers.ts";
import { concat, toBase64url } from "./bytes.ts";
import { DeviceIdentity } from "./identity.ts";
import { MAX_SKIP, MAX_SKIPPED_KEYS } from "./ratchet.ts";
import { Session, WIRE_VERSION } from "./session.ts";

for (const { name, p } of providers) {

  describe(`session setup on ${name}`, () => {
    it("starts a session with a one-time prekey and consumes it on accept", async () => {
      const aliceId = await DeviceIdentity.generate(p, { oneTimePrekeys: 1 });
      const bobId = await DeviceIdentity.generate(p, { oneTimePrekeys: 2 });
      const alice = await Session.initiate(p, aliceId, claim(bobId));
      const wire = await alice.encrypt(text("hi bob"));
      assert.equal(Session.isInitialMessage(wire), true);
      const { session, plaintext } = await Session.accept(p, bobId, wire);
      assert.equal(str(plaintext), "hi bob");
      assert.equal(session.remoteIdentityKey, aliceId.identityKey);
      assert.equal(alice.remoteIdentityKey, bobId.identityKey);
      assert.equal(bobId.oneTimePrekeyCount(), 1);
      const reply = await session.encrypt(text("hi alice"));
      assert.equal(Session.isInitialMessage(reply), false);
      assert.equal(str(await alice.decrypt(reply)), "hi alice");
      assert.equal(Session.isInitialMessage(await alice.encrypt(text("x"))), false);
    });

    it("starts a session without a one-time prekey", async () => {
      const aliceId = await DeviceIdentity.generate(p, { oneTimePrekeys: 0 });
      const bobId = await DeviceIdentity.generate(p, { oneTimePrekeys: 0 });
      const alice = await Session.initiate(p, aliceId, claim(bobId, false));
      const { plaintext } = await Session.accept(p, bobId, await alice.encrypt(text("no otk")));
      assert.equal(str(plaintext), "no otk");
    });

    it("refuses to use a one-time prekey twice", async () => {
      const aliceId = await DeviceIdentity.generate(p, { oneTimePrekeys: 0 });
      const bobId = await DeviceIdentity.generate(p, { oneTimePrekeys: 1 });
      const bundle = claim(bobId);
      const first = await Session.initiate(p, aliceId, bundle);
      await Session.accept(p, bobId, await first.encrypt(text("1")));
      const second = await Session.initiate(p, aliceId, bundle);
      const wire = await second.encrypt(text("2"));
      await rejectsWith(() => Session.accept(p, bobId, wire), "NO_PREKEY");
    });

    it("rejects a bad prekey signature", async () => {
      const aliceId = await DeviceIdentity.generate(p, { oneTimePrekeys: 0 });
      const bobId = await DeviceIdentity.generate(p, { oneTimePrekeys: 1 });
      const bundle = claim(bobId);
      const sig = Buffer.from(bundle.signedPrekey.signature, "base64url");
      sig[5]! ^= 1;
      await rejectsWith(() => Session.initiate(p, aliceId, { ...bundle, signedPrekey: { ...bundle.signedPrekey, signature: toBase64url(sig) } }), "BAD_SIGNATURE");
      await rejectsWith(() => Session.initiate(p, aliceId, { ...bundle, signedPrekey: { ...bundle.signedPrekey, id: bundle.signedPrekey.id + 1 } }), "BAD_SIGNATURE");
    });

    it("rejects a bundle whose keys were signed by another identity", async () => {
      const aliceId = await DeviceIdentity.generate(p, { oneTimePrekeys: 0 });
      const bobId = await DeviceIdentity.generate(p, { oneTimePrekeys: 1 });
      const mallory = await DeviceIdentity.generate(p, { oneTimePrekeys: 1 });
      await rejectsWith(() => Session.initiate(p, aliceId, { ...claim(mallory), identityKey: bobId.identityKey }), "BAD_SIGNATURE");
      await rejectsWith(() => Session.initiate(p, aliceId, claim(mallory), { expectedIdentityKey: bobId.identityKey }), "IDENTITY_MISMATCH");
    });

    it("rejects an initial message claiming a different identity than the session's", async () => {
      const { alice, bob, aliceId, bobId } = await established(p);
      const mallory = await DeviceIdentity.generate(p, { oneTimePrekeys: 0 });
      const impostor = await Session.initiate(p, mallory, claim(bobId, false));
      await rejectsWith(async () => bob.decrypt(await impostor.encrypt(text("me"))), "IDENTITY_MISMATCH");
      await rejectsWith(async () => Session.accept(p, bobId, await impostor.encrypt(text("me")), { expectedIdentityKey: aliceId.identityKey }), "IDENTITY_MISMATCH");
      assert.equal(str(await bob.decrypt(await alice.encrypt(text("still fine")))), "still fine");
    });

    it("opens repeated initial messages in the session they belong to, and still works after a signed prekey rotation", async () => {
      const aliceId = await DeviceIdentity.generate(p, { oneTimePrekeys: 0 });
      const bobId = await DeviceIdentity.generate(p, { oneTimePrekeys: 1 });
      const alice = await Session.initiate(p, aliceId, claim(bobId));
      const m1 = await alice.encrypt(text("one"));
      const m2 = await alice.encrypt(text("two"));
      await bobId.rotateSignedPrekey();
      const { session: bob } = await Session.accept(p, bobId, m1);
      assert.equal(Session.isInitialMessage(m2), true);
      assert.equal(str(await bob.decrypt(m2)), "two");
      await rejectsWith(() => bob.decrypt(m2), "DUPLICATE_MESSAGE");
    });
  });

  describe(`PQXDH on ${name}`, () => {
    // Initial message layout: version, type, 32+32+64+32 identity and base keys, u32 signed
    // prekey id, u8+u32 one-time prekey, then u8 KEM prekey kind, u32 its id, 1088-byte ciphertext.
    const KEM_AT = 2 + 32 + 32 + 64 + 32 + 4 + 1 + 4;
    const CT_AT = KEM_AT + 1 + 4;
    const CT_END = CT_AT + 1088;

    it("encapsulates to a one-time KEM prekey, used once; then to the last-resort one", async () => {
      const aliceId = await DeviceIdentity.generate(p, { oneTimePrekeys: 0 });
      const bobId = await DeviceIdentity.generate(p, { oneTimePrekeys: 1, kemPrekeys: 1 });
      const bundle = claim(bobId);
      assert.ok(bundle.kemOneTimePrekey);
      const first = await Session.initiate(p, aliceId, bundle);
      const wire = await first.encrypt(text("pq hello"));
      assert.equal(wire[0], WIRE_VERSION);
      assert.equal(wire[KEM_AT], 2, "names a one-time KEM prekey");
      const { plaintext } = await Session.accept(p, bobId, wire);
      assert.equal(str(plaintext), "pq hello");
      assert.equal(bobId.kemOneTimePrekeyCount(), 0);
      // The server has no one-time KEM prekey left: the claim carries the last-resort one.
      const lastResort = claim(bobId);
      assert.equal(lastResort.kemOneTimePrekey, undefined);
      for (const who of ["carol", "dave"]) {
        const s = await Session.initiate(p, await DeviceIdentity.generate(p, { oneTimePrekeys: 0 }), lastResort);
        const w = await s.encrypt(text(who));
        assert.equal(w[KEM_AT], 1, "names the last-resort KEM prekey");
        assert.equal(str((await Session.accept(p, bobId, w)).plaintext), who);
      }
    });

    it("refuses a bundle without a KEM prekey: no silent downgrade to X3DH", async () => {
      const aliceId = await DeviceIdentity.generate(p, { oneTimePrekeys: 0 });
      const bobId = await DeviceIdentity.generate(p, { oneTimePrekeys: 1 });
      const { kemLastResortPrekey: _l, kemOneTimePrekey: _o, ...stripped } = claim(bobId);
      await rejectsWith(() => Session.initiate(p, aliceId, stripped), "NO_KEM_PREKEY");
      const { kemLastResortPrekey: _l2, ...lastResortGone } = claim(bobId, false);
      await rejectsWith(() => Session.initiate(p, aliceId, lastResortGone), "NO_KEM_PREKEY");
    });

    it("fails cleanly on an initial message without its KEM ciphertext, and nothing is spent", async () => {
      const aliceId = await DeviceIdentity.generate(p, { oneTimePrekeys: 0 });
      const bobId = await DeviceIdentity.generate(p, { oneTimePrekeys: 1, kemPrekeys: 1 });
      const wire = await (await Session.initiate(p, aliceId, claim(bobId))).encrypt(text("x"));
      const without = concat(wire.subarray(0, CT_AT), wire.subarray(CT_END));
      await rejectsWith(() => Session.accept(p, bobId, without), "DECRYPT_FAILED");
      await rejectsWith(() => Session.accept(p, bobId, wire.subarray(0, CT_AT + 100)), "DECRYPT_FAILED");
      assert.equal(bobId.kemOneTimePrekeyCount(), 1);
      assert.equal(bobId.oneTimePrekeyCount(), 1);
      assert.equal(str((await Session.accept(p, bobId, wire)).plaintext), "x");
    });

    it("fails cleanly on a ciphertext made for another KEM prekey, or naming another prekey", async () => {
      const aliceId = await DeviceIdentity.generate(p, { oneTimePrekeys: 0 });
      const bobId = await DeviceIdentity.generate(p, { oneTimePrekeys: 0, kemPrekeys: 2 });
      const { kemOneTimePrekeys, ...rest } = bobId.publicBundle();
      const toFirst = await (await Session.initiate(p, aliceId, { ...rest, kemOneTimePrekey: kemOneTimePrekeys![0]! })).encrypt(text("one"));
      const toSecond = await (await Session.initiate(p, aliceId, { ...rest, kemOneTimePrekey: kemOneTimePrekeys![1]! })).encrypt(text("two"));
      // The first message with the second's ciphertext: decapsulation with the first key gives another secret.
      const swapped = concat(toFirst.subarray(0, CT_AT), toSecond.subarray(CT_AT, CT_END), toFirst.subarray(CT_END));
      await rejectsWith(() => Session.accept(p, bobId, swapped), "DECRYPT_FAILED");
      // The first message relabelled as using the second prekey (or the last-resort one).
      const renamed = toFirst.slice();
      new DataView(renamed.buffer).setUint32(KEM_AT + 1, kemOneTimePrekeys![1]!.id);
      await rejectsWith(() => Session.accept(p, bobId, renamed), "DECRYPT_FAILED");
      const asLastResort = toFirst.slice();
      asLastResort[KEM_AT] = 1;
      new DataView(asLastResort.buffer).setUint32(KEM_AT + 1, bobId.kemLastResortPrekey()!.id);
      await rejectsWith(() => Session.accept(p, bobId, asLastResort), "DECRYPT_FAILED");
      const unknown = toFirst.slice();
      new DataView(unknown.buffer).setUint32(KEM_AT + 1, 999);
      await rejectsWith(() => Session.accept(p, bobId, unknown), "NO_PREKEY");
      assert.equal(bobId.kemOneTimePrekeyCount(), 2);
      assert.equal(str((await Session.accept(p, bobId, toFirst)).plaintext), "one");
      assert.equal(str((await Session.accept(p, bobId, toSecond)).plaintext), "two");
    });

    it("fails cleanly on a tampered KEM ciphertext, at any of its bytes", async () => {
      const aliceId = await DeviceIdentity.generate(p, { oneTimePrekeys: 0 });
      const bobId = await DeviceIdentity.generate(p, { oneTimePrekeys: 0, kemPrekeys: 1 });
      const wire = await (await Session.initiate(p, aliceId, claim(bobId))).encrypt(text("intact"));
      for (const at of [CT_AT, CT_AT + 1, CT_AT + 517, CT_END - 1]) {
        const bad = wire.slice();
        bad[at]! ^= 0x40;
        await rejectsWith(() => Session.accept(p, bobId, bad), "DECRYPT_FAILED");
      }
      assert.equal(bobId.kemOneTimePrekeyCount(), 1);
      assert.equal(str((await Session.accept(p, bobId, wire)).plaintext), "intact");
    });

    it("refuses an initial message with any byte flipped, cleanly and spending nothing (property)", async () => {
      const aliceId = await DeviceIdentity.generate(p, { oneTimePrekeys: 0 });
      const bobId = await DeviceIdentity.generate(p, { oneTimePrekeys: 1, kemPrekeys: 1 });
      const wire = await (await Session.initiate(p, aliceId, claim(bobId))).encrypt(text("flip"));
      await fc.assert(
        fc.asyncProperty(fc.nat(wire.length - 1), fc.integer({ min: 1, max: 255 }), async (at, mask) => {
          const bad = wire.slice();
          bad[at]! ^= mask;
          const c = await code(() => Session.accept(p, bobId, bad));
          // TOO_MANY_SKIPPED: a flip in the first ratchet header's message number.
          assert.ok(c !== null && ["DECRYPT_FAILED", "NO_PREKEY", "UNSUPPORTED_VERSION", "TOO_MANY_SKIPPED"].includes(c), `byte ${at}: ${c}`);
          assert.equal(bobId.kemOneTimePrekeyCount(), 1);
          assert.equal(bobId.oneTimePrekeyCount(), 1);
        }),
        { numRuns: 40 },
      );
      assert.equal(str((await Session.accept(p, bobId, wire)).plaintext), "flip");
    });

    it("never accepts a one-time KEM prekey twice", async () => {
      const bobId = await DeviceIdentity.generate(p, { oneTimePrekeys: 0, kemPrekeys: 1 });
      const bundle = claim(bobId);
      const first = await (await Session.initiate(p, await DeviceIdentity.generate(p, { oneTimePrekeys: 0 }), bundle)).encrypt(text("1"));
      // Another initiator given the same claimed bundle (a server handing a key out twice).
      const second = await (await Session.initiate(p, await DeviceIdentity.generate(p, { oneTimePrekeys: 0 }), bundle)).encrypt(text("2"));
      await Session.accept(p, bobId, first);
      await rejectsWith(() => Session.accept(p, bobId, first), "NO_PREKEY");
      await rejectsWith(() => Session.accept(p, bobId, second), "NO_PREKEY");
      const restored = await DeviceIdentity.fromJSON(p, JSON.parse(JSON.stringify(bobId.toJSON())));
      await rejectsWith(() => Session.accept(p, restored, second), "NO_PREKEY");
    });

    it("keeps the previous last-resort KEM prekey for one rotation", async () => {
      const aliceId = await DeviceIdentity.generate(p, { oneTimePrekeys: 0 });
      const bobId = await DeviceIdentity.generate(p, { oneTimePrekeys: 0, kemPrekeys: 0 });
      const wire = await (await Session.initiate(p, aliceId, claim(bobId))).encrypt(text("in flight"));
      await bobId.rotateSignedPrekey();
      assert.equal(str((await Session.accept(p, bobId, wire)).plaintext), "in flight");
      await bobId.rotateSignedPrekey();
      await rejectsWith(() => Session.accept(p, bobId, wire), "NO_PREKEY");
    });

    it("refuses an X3DH initial message (no KEM) from a peer", async () => {
      const aliceId = await DeviceIdentity.generate(p, { oneTimePrekeys: 0 });
      const bobId = await DeviceIdentity.generate(p, { oneTimePrekeys: 0 });
      const wire = await (await Session.initiate(p, aliceId, claim(bobId))).encrypt(text("downgrade"));
      const x3dh = concat(Uint8Array.of(1), wire.subarray(1, KEM_AT), wire.subarray(CT_END));
      assert.equal(Session.isInitialMessage(x3dh), true);
      await rejectsWith(() => Session.accept(p, bobId, x3dh), "UNSUPPORTED_VERSION");
    });

    it("carries on a session made before PQXDH (version 1 on the wire)", async () => {
      const { alice, bob } = await established(p);
      await alice.decrypt(await bob.encrypt(text("ack")));
      const old = (s: Session) => {
        const { wire: _w, ...json } = JSON.parse(JSON.stringify(s.toJSON()));
        return Session.fromJSON(p, json);
      };
      const [a1, b1] = [old(alice), old(bob)];
      const m = await a1.encrypt(text("classic"));
      assert.equal(m[0], 1);
      assert.equal(str(await b1.decrypt(m)), "classic");
      assert.equal(str(await a1.decrypt(await b1.encrypt(text("back")))), "back");
      await rejectsWith(() => bob.decrypt(m), "DECRYPT_FAILED");
    });
  });

  describe(`Double Ratchet on ${name}`, () => {
    it("exchanges messages both ways with DH steps", async () => {
      const { alice, bob } = await established(p);
      for (let i = 0; i < 5; i++) {
        assert.equal(str(await bob.decrypt(await alice.encrypt(text(`a${i}`)))), `a${i}`);
        assert.equal(str(await alice.decrypt(await bob.encrypt(text(`b${i}`)))), `b${i}`);
      }
    });

    it("rejects a replay with DUPLICATE_MESSAGE, also from a closed chain", async () => {
      const { alice, bob } = await established(p);
      const m = await alice.encrypt(text("once"));
      await bob.decrypt(m);
      await rejectsWith(() => bob.decrypt(m), "DUPLICATE_MESSAGE");
      await alice.decrypt(await bob.encrypt(text("step")));
      await bob.decrypt(await alice.encrypt(text("new chain")));
      await rejectsWith(() => bob.decrypt(m), "DUPLICATE_MESSAGE");
    });

    it("enforces the skipped-key bound with TOO_MANY_SKIPPED and stays usable", async () => {
      const { alice, bob } = await established(p);
      const sent: Uint8Array[] = [];
      for (let i = 0; i <= MAX_SKIP + 1; i++) sent.push(await alice.encrypt(text(`m${i}`)));
      await rejectsWith(() => bob.decrypt(sent[MAX_SKIP + 1]!), "TOO_MANY_SKIPPED");
      assert.equal(str(await bob.decrypt(sent[MAX_SKIP]!)), `m${MAX_SKIP}`);
      assert.equal(bob.toJSON().ratchet.skipped.length, MAX_SKIP);
      assert.equal(str(await bob.decrypt(sent[MAX_SKIP + 1]!)), `m${MAX_SKIP + 1}`);
      assert.equal(str(await bob.decrypt(sent[0]!)), "m0");
    });

    it("keeps a bounded number of skipped keys, evicting the oldest", async () => {
      const { alice, bob } = await established(p);
      let oldest: Uint8Array | null = null;
      // Three chains each skipping MAX_SKIP keys would hold 3000; only MAX_SKIPPED_KEYS are kept.
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < MAX_SKIP; i++) {
          const w = await alice.encrypt(text("skipped"));
          oldest ??= w;
        }
        await bob.decrypt(await alice.encrypt(text("jump")));
        await alice.decrypt(await bob.encrypt(text("ack")));
      }
      assert.equal(bob.toJSON().ratchet.skipped.length, MAX_SKIPPED_KEYS);
      assert.notEqual(await code(() => bob.decrypt(oldest!)), null);
    });

    it("round-trips through JSON mid-conversation, with skipped keys", async () => {
      const { alice, bob } = await established(p);
      const late = await alice.encrypt(text("late"));
      await bob.decrypt(await alice.encrypt(text("on time")));
      const bob2 = Session.fromJSON(p, JSON.parse(JSON.stringify(bob.toJSON())));
      const alice2 = Session.fromJSON(p, JSON.parse(JSON.stringify(alice.toJSON())));
      assert.equal(str(await bob2.decrypt(late)), "late");
      assert.equal(str(await alice2.decrypt(await bob2.encrypt(text("back")))), "back");
      assert.equal(str(await bob2.decrypt(await alice2.encrypt(text("forth")))), "forth");
      assert.equal(await code(async () => Session.fromJSON(p, { ...bob.toJSON(), v: 2 })), "UNSUPPORTED_VERSION");
      assert.equal(await code(async () => Session.fromJSON(p, { ...bob.toJSON(), ad: "zz" })), "MALFORMED");
    });

    it("fails on any flipped byte, and the session works afterwards", async () => {
      const { alice, bob } = await established(p);
      await alice.decrypt(await bob.encrypt(text("reply")));
      const wire = await alice.encrypt(text("tamper with me"));
      for (let i = 0; i < wire.length; i++) {
        const bad = wire.slice();
        bad[i]! ^= 0x01 << i % 8;
        assert.notEqual(await code(() => bob.decrypt(bad)), null, `byte ${i}`);
      }
      assert.equal(await code(() => bob.decrypt(wire.subarray(0, wire.length - 1))), "DECRYPT_FAILED");
      assert.equal(str(await bob.decrypt(wire)), "tamper with me");
    });

    it("delivers each message exactly once under drops, reordering and duplication (property)", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ from: fc.boolean(), drop: fc.nat(9), dup: fc.nat(9), delay: fc.nat(6) }), { minLength: 1, maxLength: 24 }),
          async (plan) => {
            const { alice, bob } = await established(p);
            const parties = { a: alice, b: bob };
            // In-flight messages per receiver: [deliverAt, wire, text]
            const flight: { at: number; to: "a" | "b"; wire: Uint8Array; body: string }[] = [];
            const seen = new Set<string>();
            const sent = new Set<string>();
            let tick = 0;
            const deliver = async (f: (typeof flight)[number]) => {
              try {
                const got = str(await parties[f.to].decrypt(f.wire));
                assert.equal(got, f.body);
                assert.ok(!seen.has(got), "delivered twice");
                seen.add(got);
              } catch (e) {
                const c = (e as { code?: string }).code;
                if (c === "DUPLICATE_MESSAGE") assert.ok(seen.has(f.body), "DUPLICATE for a message never delivered");
                else throw e;
              }
            };
            for (const step of plan) {
              tick++;
              const from = step.from ? "a" : "b";
              const body = `${from}${tick}`;
              const wire = await parties[from].encrypt(text(body));
              sent.add(body);
              if (step.drop !== 0) flight.push({ at: tick + step.delay, to: step.from ? "b" : "a", wire, body });
              if (step.dup === 0) flight.push({ at: tick + step.delay + 1, to: step.from ? "b" : "a", wire, body });
              flight.sort((x, y) => x.at - y.at);
              while (flight[0] && flight[0].at <= tick) await deliver(flight.shift()!);
            }
            for (const f of flight) await deliver(f);
          },
        ),
        { numRuns: 25 },
      );
    });
  });
}
