import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { NatterError, type AuthApi, type GroupApi, type PresenceApi, type ServerFrame } from "@natter/protocol";
import { ALICE, BOB, FakeService } from "../../test/fakes.ts";
import { PASS_THROUGH, passThrough, passThroughKey, type PassThroughFrame, type PassThroughKey } from "./pass-through.ts";

const me = ALICE;
const actor = { userId: me.userId, username: me.username, name: "team" };
const view = { id: "00000000-0000-4000-8000-00000000a001", name: "team", closed: false, members: [] };
const bundle = { v: 1 as const, identityKey: "ik", identityDhKey: "dh", identityDhSignature: "sig", signedPrekey: { id: 1, publicKey: "spk", signature: "sig" } };
const prekey = { id: 2, publicKey: "otk", signature: "sig" };
const blob = "encrypted-profile";
const otherSession = "00000000-0000-4000-8000-00000000e001";
const summary = { id: otherSession, addr: "10.0.0.1:5000", lastAddr: "10.0.0.2:6000", startedAt: 1, lastSeenAt: 2, expiresAt: 3, current: false };

interface Case {
  readonly frame: PassThroughFrame;
  readonly service: "auth" | "group" | "presence";
  readonly verb: string;
  readonly request: unknown;
  readonly result: unknown;
  readonly reply: ServerFrame;
}

const group = (op: Extract<PassThroughFrame, { t: "group" }>["op"], extra: { user?: string; members?: string[]; entry?: string; after?: number } = {}): PassThroughFrame =>
  ({ t: "group", id: 1, op, name: "team", ...extra });
const entry = "{\"signed\":1}";

/** One case a row: the frame, the call it becomes, a result, and the reply that carries it. */
const CASES: Record<PassThroughKey, Case> = {
  user: {
    frame: { t: "user", id: 1, user: "bob" }, service: "auth", verb: "user", request: { username: "bob" },
    result: { userId: BOB.userId, username: "bob", identityKey: "ik" }, reply: { t: "user", id: 1, userId: BOB.userId, username: "bob", identityKey: "ik" },
  },
  claim: {
    frame: { t: "claim", id: 1, user: "bob" }, service: "auth", verb: "claim", request: { userId: me.userId, username: "bob" },
    result: { userId: BOB.userId, username: "bob", bundle }, reply: { t: "keys", id: 1, userId: BOB.userId, username: "bob", bundle },
  },
  prekeys: {
    frame: { t: "prekeys", id: 1, add: [prekey], addKem: [prekey], replace: true }, service: "auth", verb: "prekeys",
    request: { userId: me.userId, add: [prekey], addKem: [prekey], replace: true }, result: { count: 5, kemCount: 3, kemLastResort: true },
    reply: { t: "prekeys", id: 1, count: 5, kemCount: 3, kemLastResort: true },
  },
  backup: {
    frame: { t: "backup", id: 1, put: "backup-blob-0001" }, service: "auth", verb: "backup",
    request: { userId: me.userId, put: "backup-blob-0001" }, result: { backup: "backup-blob-0001" }, reply: { t: "backup", id: 1, backup: "backup-blob-0001" },
  },
  signedPrekey: {
    frame: { t: "signedPrekey", id: 1, key: prekey, kemLastResort: prekey }, service: "auth", verb: "signedPrekey",
    request: { userId: me.userId, key: prekey, kemLastResort: prekey }, result: {}, reply: { t: "ok", id: 1 },
  },
  "group create": {
    frame: group("create", { members: ["bob"], entry }), service: "group", verb: "create", request: { ...actor, entry, members: ["bob"] },
    result: view, reply: { t: "group", id: 1, group: view },
  },
  "group join": { frame: group("join", { entry }), service: "group", verb: "join", request: { ...actor, entry }, result: view, reply: { t: "group", id: 1, group: view } },
  "group members": {
    frame: group("members"), service: "group", verb: "members", request: actor,
    result: { group: { id: view.id, name: "team", closed: false }, members: [] },
    reply: { t: "members", id: 1, group: { id: view.id, name: "team", closed: false }, members: [] },
  },
  "group add": { frame: group("add", { user: "bob", entry }), service: "group", verb: "add", request: { ...actor, entry, user: "bob" }, result: view, reply: { t: "group", id: 1, group: view } },
  "group remove": { frame: group("remove", { user: "bob", entry }), service: "group", verb: "remove", request: { ...actor, entry, user: "bob" }, result: view, reply: { t: "group", id: 1, group: view } },
  "group leave": { frame: group("leave", { entry }), service: "group", verb: "leave", request: { ...actor, entry }, result: view, reply: { t: "group", id: 1, group: view } },
  "group admin": { frame: group("admin", { user: "bob", entry }), service: "group", verb: "admin", request: { ...actor, entry, user: "bob" }, result: view, reply: { t: "group", id: 1, group: view } },
  "group close": { frame: group("close", { entry }), service: "group", verb: "close", request: { ...actor, entry }, result: view, reply: { t: "group", id: 1, group: view } },
  "group chain": {
    frame: group("chain", { after: 3 }), service: "group", verb: "chain", request: { ...actor, after: 3 },
    result: { group: { id: view.id, name: "team" }, head: { seq: 3, hash: "h" }, entries: [entry], more: false },
    reply: { t: "chain", id: 1, group: { id: view.id, name: "team" }, head: { seq: 3, hash: "h" }, entries: [entry], more: false },
  },
  groups: { frame: { t: "groups", id: 1 }, service: "group", verb: "list", request: {}, result: { groups: [] }, reply: { t: "groups", id: 1, groups: [] } },
  who: {
    frame: { t: "who", id: 1, lastHour: true }, service: "presence", verb: "who", request: { userId: me.userId, lastHour: true },
    result: { users: [] }, reply: { t: "who", id: 1, users: [] },
  },
  block: { frame: { t: "block", id: 1, user: "bob" }, service: "auth", verb: "block", request: { userId: me.userId, username: "bob" }, result: {}, reply: { t: "ok", id: 1 } },
  unblock: { frame: { t: "unblock", id: 1, user: "bob" }, service: "auth", verb: "unblock", request: { userId: me.userId, username: "bob" }, result: {}, reply: { t: "ok", id: 1 } },
  profile: {
    frame: { t: "profile", id: 1, put: { blob } }, service: "auth", verb: "profile", request: { userId: me.userId, put: { blob } },
    result: { blob }, reply: { t: "profile", id: 1, blob },
  },
  profileOf: {
    frame: { t: "profileOf", id: 1, user: "bob" }, service: "auth", verb: "profileOf", request: { userId: me.userId, username: "bob" },
    result: { userId: BOB.userId, username: "bob", blob: null }, reply: { t: "profileOf", id: 1, userId: BOB.userId, username: "bob", blob: null },
  },
  sessions: {
    frame: { t: "sessions", id: 1 }, service: "auth", verb: "sessions", request: { userId: me.userId, sid: me.sid },
    result: { sessions: [summary] }, reply: { t: "sessions", id: 1, sessions: [summary] },
  },
  revoke: {
    frame: { t: "revoke", id: 1, others: true }, service: "auth", verb: "revoke", request: { userId: me.userId, except: me.sid },
    result: { ended: [otherSession] }, reply: { t: "revoked", id: 1, ended: 1 },
  },
};

/** The three services, each answering any verb with `result`. */
function services(result: unknown) {
  const fakes = {
    auth: new FakeService<typeof AuthApi>(() => result),
    group: new FakeService<typeof GroupApi>(() => result),
    presence: new FakeService<typeof PresenceApi>(() => result),
  };
  const calls = () => Object.entries(fakes).flatMap(([service, fake]) => fake.calls.map(({ verb, req }) => ({ service, verb, req })));
  return { calls, services: { auth: fakes.auth.call, group: fakes.group.call, presence: fakes.presence.call } };
}

describe("pass-through table", () => {
  it("has a case for every row", () => {
    assert.deepEqual(Object.keys(CASES).sort(), Object.keys(PASS_THROUGH).sort());
  });

  for (const [key, c] of Object.entries(CASES) as Array<[PassThroughKey, Case]>) {
    it(`maps ${key} to ${c.service} ${c.verb} and back`, async () => {
      assert.equal(passThroughKey(c.frame), key);
      const fake = services(c.result);
      const reply = await passThrough(fake.services, c.frame, me);
      assert.deepEqual(fake.calls(), [{ service: c.service, verb: c.verb, req: c.request }], "the request is built from the frame and the identity");
      assert.deepEqual(reply, c.reply, "the reply frame carries the result");
    });
  }

  it("refuses a group command that needs a user without one, before calling the group service", async () => {
    const fake = services(view);
    for (const op of ["add", "remove", "admin"] as const) {
      await assert.rejects(
        passThrough(fake.services, group(op), me),
        (error: unknown) => error instanceof NatterError && error.code === "BAD_FRAME" && error.message === `group ${op} needs a user`,
      );
    }
    assert.deepEqual(fake.calls(), []);
  });

  it("refuses a group change without its signed entry, before calling the group service", async () => {
    const fake = services(view);
    for (const op of ["create", "join", "leave", "close"] as const) {
      await assert.rejects(
        passThrough(fake.services, group(op), me),
        (error: unknown) => error instanceof NatterError && error.code === "BAD_FRAME" && error.message === `group ${op} needs a signed entry`,
      );
    }
    assert.deepEqual(fake.calls(), []);
  });

  it("ends one named session of mine, and refuses a revoke that names none, both kinds, or this connection's own", async () => {
    const fake = services({ ended: [otherSession] });
    assert.deepEqual(await passThrough(fake.services, { t: "revoke", id: 2, session: otherSession }, me), { t: "revoked", id: 2, ended: 1 });
    assert.deepEqual(fake.calls(), [{ service: "auth", verb: "revoke", req: { userId: me.userId, session: otherSession } }]);
    for (const frame of [{ t: "revoke", id: 3 }, { t: "revoke", id: 4, session: otherSession, others: true }, { t: "revoke", id: 5, session: me.sid }] as const) {
      await assert.rejects(passThrough(fake.services, frame, me), (error: unknown) => error instanceof NatterError && error.code === "BAD_FRAME", JSON.stringify(frame));
    }
    assert.equal(fake.calls().length, 1, "nothing refused reaches auth");
  });

  it("passes a service's refusal on as it is", async () => {
    const refusing = { ...services(undefined).services, auth: new FakeService<typeof AuthApi>(() => { throw new NatterError("NO_SUCH_USER"); }).call };
    await assert.rejects(passThrough(refusing, { t: "user", id: 1, user: "nobody" }, me), (error: unknown) => error instanceof NatterError && error.code === "NO_SUCH_USER");
  });
});
