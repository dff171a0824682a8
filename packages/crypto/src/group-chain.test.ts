import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import { before, describe, it } from "node:test";
import fc from "fast-check";
import { toBase64url } from "./bytes.ts";
import {
  applyEntry, encodeEntry, entryHash, groupIdOf, headRelation, membershipDifference, signEntry, validateChain,
  type ChainEntry, type ChainMemberRef, type ChainOp, type ChainState,
} from "./group-chain.ts";
import { createPrimitives, type KeyPair } from "./primitives.ts";

const p = createPrimitives();

interface TestUser extends ChainMemberRef {
  keys: KeyPair;
}

const NAMES = ["ann", "bob", "cat", "dan", "eve"];
let users: TestUser[] = [];

before(async () => {
  users = await Promise.all(NAMES.map(async (username) => {
    const keys = await p.ed25519Generate();
    return { userId: randomUUID(), username, identityKey: toBase64url(keys.publicKey), keys };
  }));
});

const refOf = (u: TestUser): ChainMemberRef => ({ userId: u.userId, username: u.username, identityKey: u.identityKey });

async function entry(signer: TestUser, state: ChainState | undefined, op: ChainOp, over: Partial<ChainEntry> = {}): Promise<ChainEntry> {
  const unsigned = { v: 1 as const, prev: state?.head ?? null, seq: state ? state.seq + 1 : 0, by: signer.userId, at: 1000, op, ...over };
  return signEntry(p, signer.keys.privateKey, unsigned);
}

function genesis(open: boolean, members: Array<[TestUser, boolean]>): ChainOp {
  return { type: "genesis", name: "team", open, nonce: toBase64url(p.randomBytes(16)), members: members.map(([u, admin]) => ({ ...refOf(u), admin })) };
}

async function accept(state: ChainState | undefined, e: ChainEntry | string): Promise<ChainState> {
  const r = await applyEntry(p, state, typeof e === "string" ? e : encodeEntry(e));
  assert.ok(r.ok, r.ok ? "" : `${r.code}: ${r.detail}`);
  return r.value;
}

async function refusal(state: ChainState | undefined, e: unknown): Promise<string> {
  const r = await applyEntry(p, state, e);
  assert.ok(!r.ok, "the entry was accepted");
  return r.code;
}

describe("group chain", () => {
  it("makes a group from a genesis, its id a UUID committed to the genesis", async () => {
    const [ann, bob] = users as [TestUser, TestUser];
    const state = await accept(undefined, await entry(ann, undefined, genesis(true, [[ann, true], [bob, false]])));
    assert.match(state.groupId, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(state.groupId, groupIdOf(state.head));
    assert.deepEqual(state.members.map((m) => [m.username, m.admin, m.since]), [["ann", true, 0], ["bob", false, 0]]);
  });

  it("refuses a non-admin's add, a forged signature, a wrong link and a replayed entry", async () => {
    const [ann, bob, cat, dan] = users as [TestUser, TestUser, TestUser, TestUser];
    let state = await accept(undefined, await entry(ann, undefined, genesis(false, [[ann, true], [bob, false]])));
    assert.equal(await refusal(state, encodeEntry(await entry(bob, state, { type: "add", member: refOf(cat) }))), "NOT_ADMIN");
    const forged = await entry(bob, state, { type: "add", member: refOf(cat) }, { by: ann.userId });
    assert.equal(await refusal(state, encodeEntry(forged)), "BAD_SIGNATURE");
    assert.equal(await refusal(state, encodeEntry(await entry(ann, state, { type: "close" }, { prev: toBase64url(new Uint8Array(32)) }))), "BAD_LINK");
    const addCat = await entry(ann, state, { type: "add", member: refOf(cat) });
    state = await accept(state, addCat);
    state = await accept(state, await entry(ann, state, { type: "remove", userId: cat.userId }));
    assert.equal(await refusal(state, encodeEntry(addCat)), "BAD_LINK", "an old add replayed after a remove");
    assert.equal(await refusal(state, encodeEntry(await entry(dan, state, { type: "join", member: refOf(dan) }))), "GROUP_CLOSED");
    assert.equal(await refusal(state, "{"), "MALFORMED");
    assert.equal(await refusal(state, { ...addCat, extra: 1 }), "MALFORMED");
    assert.equal(await refusal(state, { ...addCat, v: 2 }), "BAD_VERSION");
  });

  it("hands admin to the longest-standing member when the last admin leaves, and ends when empty", async () => {
    const [ann, bob, cat] = users as [TestUser, TestUser, TestUser];
    let state = await accept(undefined, await entry(ann, undefined, genesis(true, [[ann, true]])));
    state = await accept(state, await entry(cat, state, { type: "join", member: refOf(cat) }));
    state = await accept(state, await entry(bob, state, { type: "join", member: refOf(bob) }));
    state = await accept(state, await entry(ann, state, { type: "leave" }));
    assert.deepEqual(state.members.map((m) => [m.username, m.admin]), [["cat", true], ["bob", false]]);
    state = await accept(state, await entry(cat, state, { type: "leave" }));
    state = await accept(state, await entry(bob, state, { type: "leave" }));
    assert.equal(state.ended, true);
    assert.equal(await refusal(state, encodeEntry(await entry(ann, state, { type: "join", member: refOf(ann) }))), "GROUP_ENDED");
  });

  it("refuses a join signed by someone other than the joiner, or with a key the joiner does not hold", async () => {
    const [ann, bob, cat] = users as [TestUser, TestUser, TestUser];
    const state = await accept(undefined, await entry(ann, undefined, genesis(true, [[ann, true]])));
    assert.equal(await refusal(state, encodeEntry(await entry(ann, state, { type: "join", member: refOf(bob) }))), "NOT_SELF");
    const swapped = await entry(bob, state, { type: "join", member: { ...refOf(bob), identityKey: cat.identityKey } });
    assert.equal(await refusal(state, encodeEntry(swapped)), "BAD_SIGNATURE");
  });

  it("hashes the canonical encoding: sorted keys, no whitespace, behind a context string", async () => {
    const ann = users[0]!;
    const unsigned = {
      v: 1 as const, prev: null, seq: 0, by: ann.userId, at: 1700000000000,
      op: { type: "genesis" as const, name: "team", open: true, nonce: "AAAAAAAAAAAAAAAAAAAAAA", members: [{ ...refOf(ann), admin: true }] },
    };
    const text = `{"at":1700000000000,"by":"${ann.userId}","op":{"members":[{"admin":true,"identityKey":"${ann.identityKey}","userId":"${ann.userId}","username":"ann"}],`
      + `"name":"team","nonce":"AAAAAAAAAAAAAAAAAAAAAA","open":true,"type":"genesis"},"prev":null,"seq":0,"v":1}`;
    const expected = createHash("sha256").update("natter group chain v1\0").update(text).digest("base64url");
    assert.equal(await entryHash(p, unsigned), expected);
    const signed = await signEntry(p, ann.keys.privateKey, unsigned);
    assert.equal(encodeEntry(signed), `${text.slice(0, -1).replace(`"seq":0`, `"seq":0,"sig":"${signed.sig}"`)}}`);
  });

  it("tells a rollback, a fork and a later head apart", async () => {
    const [ann, bob, cat] = users as [TestUser, TestUser, TestUser];
    const s0 = await accept(undefined, await entry(ann, undefined, genesis(false, [[ann, true], [bob, false]])));
    const s1 = await accept(s0, await entry(ann, s0, { type: "add", member: refOf(cat) }));
    const s2 = await accept(s1, await entry(ann, s1, { type: "remove", userId: cat.userId }));
    const mine = [s0.head, s1.head, s2.head];
    assert.deepEqual(headRelation(mine, s2), { kind: "same" });
    assert.deepEqual(headRelation(mine, s1), { kind: "rollback", mine: 2 });
    assert.deepEqual(headRelation(mine.slice(0, 2), s2), { kind: "ahead" });
    const other = await accept(s1, await entry(ann, s1, { type: "promote", userId: bob.userId }));
    assert.deepEqual(headRelation(mine, other), { kind: "fork", at: 2 });
  });

  it("names who a claimed member list adds without an entry, and who it leaves out", async () => {
    const [ann, bob, cat] = users as [TestUser, TestUser, TestUser];
    const state = await accept(undefined, await entry(ann, undefined, genesis(false, [[ann, true], [bob, false]])));
    const diff = membershipDifference(state, [ann, cat]);
    assert.deepEqual(diff.unverified, [{ userId: cat.userId, username: "cat" }]);
    assert.deepEqual(diff.missing.map((m) => m.username), ["bob"]);
  });

  describe("properties", () => {
    it("refuses any value that is not an entry, without throwing", async () => {
      const [ann, bob] = users as [TestUser, TestUser];
      const state = await accept(undefined, await entry(ann, undefined, genesis(true, [[ann, true], [bob, false]])));
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.anything(), fc.json(), fc.string()), async (junk) => {
          assert.equal((await applyEntry(p, undefined, junk)).ok, false);
          assert.equal((await applyEntry(p, state, junk)).ok, false);
        }),
        { numRuns: 300 },
      );
    });

    it("refuses every one-character change of a signed entry that changes what it says", async () => {
      const [ann, bob, cat] = users as [TestUser, TestUser, TestUser];
      const state = await accept(undefined, await entry(ann, undefined, genesis(false, [[ann, true], [bob, false]])));
      const text = encodeEntry(await entry(ann, state, { type: "add", member: refOf(cat) }));
      const good = await accept(state, text);
      await fc.assert(
        fc.asyncProperty(fc.nat({ max: text.length - 1 }), fc.integer({ min: 32, max: 126 }), async (at, code) => {
          const changed = text.slice(0, at) + String.fromCharCode(code) + text.slice(at + 1);
          const r = await applyEntry(p, state, changed);
          if (r.ok) assert.deepEqual(r.value, good, `accepted a different entry: ${changed}`);
        }),
        { numRuns: 400 },
      );
    });

    it("shows a client that saw a later head every withheld entry as a rollback, and every other history as a fork", async () => {
      const [ann, bob, cat, dan] = users as [TestUser, TestUser, TestUser, TestUser];
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.nat(), fc.nat(), async (length, cut, branch) => {
          let state = await accept(undefined, await entry(ann, undefined, genesis(true, [[ann, true], [bob, false]])));
          const states = [state];
          for (let i = 0; i < length; i++) {
            const op: ChainOp = i % 2 === 0 ? { type: "add", member: refOf(i % 4 === 0 ? cat : dan) } : { type: "remove", userId: (i % 4 === 1 ? cat : dan).userId };
            state = await accept(state, await entry(ann, state, op));
            states.push(state);
          }
          const mine = states.map((s) => s.head);
          const shown = states[cut % states.length]!;
          const relation = headRelation(mine, shown);
          assert.equal(relation.kind, shown === state ? "same" : "rollback");
          // Another history from some point on: a different entry, validly signed, at the next seq.
          const from = states[branch % states.length]!;
          if (from === state) return;
          const fork = await accept(from, await entry(ann, from, { type: "rename", name: "elsewhere" }));
          assert.deepEqual(headRelation(mine, fork), { kind: "fork", at: from.seq + 1 });
        }),
        { numRuns: 40 },
      );
    });

    type Kind = "add" | "remove" | "promote" | "leave" | "join" | "close" | "rename";
    type Tamper = "none" | "sig" | "prev" | "seq" | "replay";
    const action = fc.record({
      actor: fc.nat({ max: NAMES.length - 1 }),
      target: fc.nat({ max: NAMES.length - 1 }),
      kind: fc.constantFrom<Kind>("add", "remove", "promote", "leave", "join", "close", "rename"),
      tamper: fc.constantFrom<Tamper>("none", "none", "none", "sig", "prev", "seq", "replay"),
    });

    /** The rules, restated plainly: whether `actor` may do `kind` to `target` in `s`. */
    function allowed(s: ChainState, actor: TestUser, kind: Kind, target: TestUser): boolean {
      const me = s.members.find((m) => m.userId === actor.userId);
      const them = s.members.some((m) => m.userId === target.userId);
      if (s.ended) return false;
      switch (kind) {
        case "join": return !me && s.open;
        case "leave": return !!me;
        case "add": return !!me?.admin && !them;
        case "remove": return !!me?.admin && them && target !== actor;
        case "promote": return !!me?.admin && them;
        case "close":
        case "rename": return !!me?.admin;
      }
    }

    function opFor(kind: Kind, actor: TestUser, target: TestUser, i: number): ChainOp {
      switch (kind) {
        case "join": return { type: "join", member: refOf(actor) };
        case "add": return { type: "add", member: refOf(target) };
        case "remove": return { type: "remove", userId: target.userId };
        case "promote": return { type: "promote", userId: target.userId };
        case "leave": return { type: "leave" };
        case "close": return { type: "close" };
        case "rename": return { type: "rename", name: `team-${i}` };
      }
    }

    it("accepts exactly the entries the rules allow, refuses every tampered one, and every validator agrees", async () => {
      await fc.assert(
        fc.asyncProperty(fc.boolean(), fc.array(action, { maxLength: 14 }), fc.nat(), async (open, actions, seed) => {
          const all = users;
          const first = all[0]!;
          const chain: string[] = [encodeEntry(await entry(first, undefined, genesis(open, [[first, true], [all[1]!, false]])))];
          let state = await accept(undefined, chain[0]!);
          for (const [i, a] of actions.entries()) {
            const actor = all[a.actor]!;
            const target = all[a.target]!;
            const ok = allowed(state, actor, a.kind, target);
            const op = opFor(a.kind, actor, target, i);
            let e: unknown;
            if (a.tamper === "sig") e = encodeEntry({ ...(await entry(actor, state, op)), sig: (await entry(all[(a.actor + 1) % all.length]!, state, op)).sig });
            else if (a.tamper === "prev") e = encodeEntry(await entry(actor, state, op, { prev: toBase64url(p.randomBytes(32)) }));
            else if (a.tamper === "seq") e = encodeEntry(await entry(actor, state, op, { seq: state.seq + 2 }));
            else if (a.tamper === "replay") e = chain[a.target % chain.length];
            else e = encodeEntry(await entry(actor, state, op));
            const r = await applyEntry(p, state, e);
            if (a.tamper !== "none" || !ok) {
              assert.equal(r.ok, false, `${a.kind} by ${actor.username} (${a.tamper}) was accepted`);
              continue;
            }
            assert.ok(r.ok, r.ok ? "" : `${a.kind} by ${actor.username} refused: ${r.code}`);
            chain.push(e as string);
            state = r.value;
          }
          const again = await validateChain(p, chain);
          assert.ok(again.ok);
          assert.deepEqual(again.value, state);
          // However the entries were fetched, putting them in seq order gives the same state;
          // in any other order the chain is refused.
          const shuffled = fc.sample(fc.shuffledSubarray(chain, { minLength: chain.length, maxLength: chain.length }), { seed, numRuns: 1 })[0]!;
          const bySeq = [...shuffled].sort((x, y) => (JSON.parse(x) as ChainEntry).seq - (JSON.parse(y) as ChainEntry).seq);
          const sorted = await validateChain(p, bySeq);
          assert.ok(sorted.ok);
          assert.deepEqual(sorted.value, state);
          const raw = await validateChain(p, shuffled);
          if (shuffled.some((x, i) => x !== chain[i])) assert.equal(raw.ok, false);
          // Members always have at least one admin while the group lives.
          if (!state.ended) assert.ok(state.members.some((m) => m.admin));
        }),
        { numRuns: 60 },
      );
    });
  });
});
