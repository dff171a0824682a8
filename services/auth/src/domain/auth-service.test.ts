import { beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { NatterError, type PublicBundle } from "@natter/protocol";
import { AuthService } from "./auth-service.ts";
import { FakeClock, FakeHasher, FakeSalts, FakeSecrets, FakeTokens, MemoryAccounts, MemoryAttempts, MemorySessions, RecordingPublisher } from "../../test/fakes.ts";
import { DEFAULT_CLAIM_POLICY, type ClaimPolicy } from "./claim-limits.ts";
import { DEFAULT_LOGIN_POLICY } from "./login-policy.ts";

const bundle: PublicBundle = {
  v: 1,
  identityKey: "aWRlbnRpdHk",
  identityDhKey: "ZGg",
  identityDhSignature: "c2ln",
  signedPrekey: { id: 1, publicKey: "c3Br", signature: "c2ln" },
  oneTimePrekeys: [{ id: 10, publicKey: "b3Rr", signature: "c2ln" }, { id: 11, publicKey: "b3Rr", signature: "c2ln" }],
};
const backup = "ZW5jcnlwdGVkLWJhY2t1cA";
const PASSWORD = "correct horse";
const SALT = "c2FsdC1vZi10aGUtYWNjdA";
const CLAIMER = "00000000-0000-4000-8000-0000000000aa";

function setup(policy = DEFAULT_LOGIN_POLICY, claimPolicy: ClaimPolicy = DEFAULT_CLAIM_POLICY) {
  const clock = new FakeClock();
  const hasher = new FakeHasher();
  const accounts = new MemoryAccounts();
  const deps = {
    accounts, hasher, clock,
    sessions: new MemorySessions(accounts),
    sessionEnds: new RecordingPublisher<{ sid: string }>(),
    attempts: new MemoryAttempts(),
    tokens: new FakeTokens(),
    secrets: new FakeSecrets(),
    salts: new FakeSalts(),
    claims: new MemoryAttempts(),
  };
  const make = () => AuthService.create(deps, { ...policy, ...claimPolicy, refreshTtlMs: 30 * 86_400_000 });
  return { clock, hasher, accounts, sessionEnds: deps.sessionEnds, make };
}

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "ok";
  } catch (err) {
    assert.ok(err instanceof NatterError, String(err));
    return err.code;
  }
}

describe("registration", () => {
  it("folds the username and logs the new user in", async () => {
    const { make } = setup();
    const auth = await make();
    const grant = await auth.register({ username: "Alice", salt: SALT, secret: PASSWORD, bundle, backup, addr: "a" });
    assert.equal(grant.username, "alice");
    assert.ok(grant.token && grant.refresh && grant.sid);
  });

  it("refuses a taken name, whatever its case", async () => {
    const auth = await setup().make();
    await auth.register({ username: "alice", salt: SALT, secret: PASSWORD, bundle, backup, addr: "a" });
    assert.equal(await code(auth.register({ username: "ALICE", salt: SALT, secret: PASSWORD, bundle, backup, addr: "a" })), "USERNAME_TAKEN");
  });

  it("refuses invalid names, and stores only a hash of the login secret with the salt", async () => {
    const env = setup();
    const auth = await env.make();
    assert.equal(await code(auth.register({ username: "a b", salt: SALT, secret: PASSWORD, bundle, backup, addr: "a" })), "INVALID_USERNAME");
    const { userId } = await auth.register({ username: "bob", salt: SALT, secret: PASSWORD, bundle, backup, addr: "a" });
    const stored = env.accounts.byId.get(userId)!;
    assert.equal(stored.passwordHash, `hashed:${PASSWORD}`);
    assert.equal(stored.salt, SALT);
  });

  it("refuses a bundle whose one-time prekey ids repeat", async () => {
    const auth = await setup().make();
    const twice = { ...bundle, oneTimePrekeys: [bundle.oneTimePrekeys[0]!, bundle.oneTimePrekeys[0]!] };
    assert.equal(await code(auth.register({ username: "bob", salt: SALT, secret: PASSWORD, bundle: twice, backup, addr: "a" })), "INVALID_BUNDLE");
  });
});

describe("login", () => {
  let env: ReturnType<typeof setup>;
  let auth: AuthService;
  const login = (password: string, addr = "1.2.3.4", username = "alice") => code(auth.login({ username, secret: password, addr }));

  beforeEach(async () => {
    env = setup();
    auth = await env.make();
    await auth.register({ username: "alice", salt: SALT, secret: PASSWORD, bundle, backup, addr: "setup" });
  });

  it("accepts the right password, case-insensitively for the name", async () => {
    assert.equal(await login(PASSWORD, "a", "ALICE"), "ok");
  });

  it("gives one error for an unknown user and a wrong password, after the same hashing work", async () => {
    env.hasher.verified.length = 0;
    assert.equal(await login("wrong password", "a"), "BAD_CREDENTIALS");
    assert.equal(await login(PASSWORD, "a", "nobody"), "BAD_CREDENTIALS");
    assert.equal(await login(PASSWORD, "a", "!!"), "BAD_CREDENTIALS");
    assert.equal(env.hasher.verified.length, 3, "every attempt verifies against some hash");
  });

  it("locks an address out of the account after three failures in a row for 60 s, and no other address", async () => {
    assert.equal(await login("wrong 1", "10.0.0.1"), "BAD_CREDENTIALS");
    assert.equal(await login("wrong 2", "10.0.0.1"), "BAD_CREDENTIALS");
    assert.equal(await login("wrong 3", "10.0.0.1"), "BAD_CREDENTIALS");
    env.hasher.verified.length = 0;
    const locked = auth.login({ username: "alice", secret: PASSWORD, addr: "10.0.0.1" });
    await assert.rejects(locked, (err: NatterError) => err.code === "ACCOUNT_LOCKED" && err.detail?.["retryAfter"] === 60);
    assert.equal(env.hasher.verified.length, 0, "refused before any hash is checked");
    assert.equal(await login(PASSWORD, "setup"), "ok", "the owner's address is not locked out");

    env.clock.advance(59);
    await assert.rejects(auth.login({ username: "alice", secret: PASSWORD, addr: "10.0.0.1" }),
      (err: NatterError) => err.code === "ACCOUNT_LOCKED" && err.detail?.["retryAfter"] === 1);

    env.clock.advance(1);
    assert.equal(await login(PASSWORD, "10.0.0.1"), "ok");
  });

  it("locks a name nobody has exactly as an existing one", async () => {
    const tries = async (username: string) => {
      const seen: string[] = [];
      for (let i = 0; i < 4; i++) seen.push(await login("wrong", "10.0.0.9", username));
      return seen;
    };
    assert.deepEqual(await tries("alice"), ["BAD_CREDENTIALS", "BAD_CREDENTIALS", "BAD_CREDENTIALS", "ACCOUNT_LOCKED"]);
    assert.deepEqual(await tries("nobody"), await tries("alice2"));
    assert.deepEqual(await tries("nobody3"), ["BAD_CREDENTIALS", "BAD_CREDENTIALS", "BAD_CREDENTIALS", "ACCOUNT_LOCKED"]);
  });

  it("counts only consecutive failures: a success starts again", async () => {
    assert.equal(await login("wrong 1"), "BAD_CREDENTIALS");
    assert.equal(await login("wrong 2"), "BAD_CREDENTIALS");
    assert.equal(await login(PASSWORD), "ok");
    assert.equal(await login("wrong 3"), "BAD_CREDENTIALS");
    assert.equal(await login("wrong 4"), "BAD_CREDENTIALS");
    assert.equal(await login(PASSWORD), "ok");
  });

  it("needs three new failures to lock again after a lock ends", async () => {
    for (let i = 0; i < 3; i++) await login("wrong");
    env.clock.advance(60);
    assert.equal(await login("wrong"), "BAD_CREDENTIALS");
    assert.equal(await login(PASSWORD), "ok");
  });

  it("limits attempts per address per minute, for any user", async () => {
    const limited = setup({ ...DEFAULT_LOGIN_POLICY, addrLimit: 5 });
    const svc = await limited.make();
    let n = 0;
    const tryFrom = (addr: string) => code(svc.login({ username: `user${n++}`, secret: PASSWORD, addr }));
    for (let i = 0; i < 5; i++) assert.equal(await tryFrom("9.9.9.9"), "BAD_CREDENTIALS");
    await assert.rejects(svc.login({ username: "x12", secret: PASSWORD, addr: "9.9.9.9" }),
      (err: NatterError) => err.code === "RATE_LIMITED" && typeof err.detail?.["retryAfter"] === "number");
    assert.equal(await tryFrom("8.8.8.8"), "BAD_CREDENTIALS", "other addresses are not affected");
    limited.clock.advance(60);
    assert.equal(await tryFrom("9.9.9.9"), "BAD_CREDENTIALS", "a new minute starts afresh");
  });
});

describe("sessions", () => {
  it("rotate the refresh token on use and end on logout", async () => {
    const env = setup();
    const auth = await env.make();
    const grant = await auth.register({ username: "alice", salt: SALT, secret: PASSWORD, bundle, backup, addr: "a" });
    const next = await auth.refresh({ refresh: grant.refresh });
    assert.equal(next.sid, grant.sid);
    assert.notEqual(next.refresh, grant.refresh);
    assert.deepEqual(await auth.session({ sid: grant.sid }), { active: true });
    assert.deepEqual(env.sessionEnds.events, []);
    await auth.logout({ sid: grant.sid });
    assert.deepEqual(await auth.session({ sid: grant.sid }), { active: false });
    assert.deepEqual(env.sessionEnds.events, [{ sid: grant.sid }], "the edges are told the session ended");
    assert.equal(await code(auth.refresh({ refresh: next.refresh })), "TOKEN_INVALID");
  });

  it("end as a whole when a spent refresh token is presented again, and the edges are told", async () => {
    const env = setup();
    const auth = await env.make();
    const grant = await auth.register({ username: "alice", salt: SALT, secret: PASSWORD, bundle, backup, addr: "a" });
    const next = await auth.refresh({ refresh: grant.refresh, addr: "b" });
    assert.equal(await code(auth.refresh({ refresh: grant.refresh })), "TOKEN_INVALID");
    assert.deepEqual(env.sessionEnds.events, [{ sid: grant.sid }]);
    assert.deepEqual(await auth.session({ sid: grant.sid }), { active: false });
    assert.equal(await code(auth.refresh({ refresh: next.refresh })), "TOKEN_INVALID", "the newest token of the session is dead too");
    assert.equal(await code(auth.refresh({ refresh: "never-issued" })), "TOKEN_INVALID");
    assert.equal(env.sessionEnds.events.length, 1, "an unknown token ends nothing");
  });

  it("end at their absolute lifetime however often they are refreshed", async () => {
    const env = setup();
    const auth = await env.make();
    let grant = await auth.register({ username: "alice", salt: SALT, secret: PASSWORD, bundle, backup, addr: "a" });
    // Twelve weeks of weekly refreshes (84 days), then a week more: past the 90 days.
    for (let week = 0; week < 12; week++) {
      env.clock.advance(7 * 86_400);
      grant = await auth.refresh({ refresh: grant.refresh });
    }
    env.clock.advance(7 * 86_400);
    assert.equal(await code(auth.refresh({ refresh: grant.refresh })), "TOKEN_INVALID");
    assert.deepEqual(await auth.session({ sid: grant.sid }), { active: false });
  });

  it("are listed for their owner, where from and when, and ended one by one or all but the caller's", async () => {
    const env = setup();
    const auth = await env.make();
    const first = await auth.register({ username: "alice", salt: SALT, secret: PASSWORD, bundle, backup, addr: "10.0.0.1" });
    env.clock.advance(60);
    const second = await auth.login({ username: "alice", secret: PASSWORD, addr: "10.0.0.2" });
    const third = await auth.login({ username: "alice", secret: PASSWORD, addr: "10.0.0.3" });
    env.clock.advance(60);
    await auth.refresh({ refresh: first.refresh, addr: "10.0.0.4" });
    const { sessions } = await auth.sessions({ userId: first.userId, sid: second.sid });
    assert.deepEqual(sessions.map((s) => [s.id, s.addr, s.lastAddr, s.current]), [
      [first.sid, "10.0.0.1", "10.0.0.4", false], [second.sid, "10.0.0.2", "10.0.0.2", true], [third.sid, "10.0.0.3", "10.0.0.3", false],
    ]);
    assert.equal(sessions[0]!.lastSeenAt - sessions[0]!.startedAt, 120_000);

    const stranger = await auth.register({ username: "mallory", salt: SALT, secret: PASSWORD, bundle, backup, addr: "6.6.6.6" });
    assert.equal(await code(auth.revoke({ userId: stranger.userId, session: first.sid })), "NO_SUCH_SESSION");
    assert.deepEqual(await auth.revoke({ userId: first.userId, session: third.sid }), { ended: [third.sid] });
    assert.equal(await code(auth.revoke({ userId: first.userId, session: third.sid })), "NO_SUCH_SESSION", "already ended");
    assert.deepEqual(await auth.revoke({ userId: first.userId, except: second.sid }), { ended: [first.sid] });
    assert.deepEqual(env.sessionEnds.events, [{ sid: third.sid }, { sid: first.sid }]);
    assert.deepEqual((await auth.sessions({ userId: first.userId, sid: second.sid })).sessions.map((s) => s.id), [second.sid]);
  });

  it("expire when the refresh token does", async () => {
    const env = setup();
    const auth = await env.make();
    const grant = await auth.register({ username: "alice", salt: SALT, secret: PASSWORD, bundle, backup, addr: "a" });
    env.clock.advance(30 * 86_400);
    assert.equal(await code(auth.refresh({ refresh: grant.refresh })), "TOKEN_INVALID");
    assert.deepEqual(await auth.session({ sid: grant.sid }), { active: false });
  });
});

describe("device keys and backup", () => {
  it("hand out one-time prekeys once, then the signed prekey alone", async () => {
    const auth = await setup().make();
    const { userId } = await auth.register({ username: "bob", salt: SALT, secret: PASSWORD, bundle, backup, addr: "a" });
    const first = await auth.claim({ userId: CLAIMER, username: "bob" });
    const second = await auth.claim({ userId: CLAIMER, username: "bob" });
    const third = await auth.claim({ userId: CLAIMER, username: "bob" });
    assert.deepEqual([first.bundle.oneTimePrekey?.id, second.bundle.oneTimePrekey?.id, third.bundle.oneTimePrekey], [10, 11, undefined]);
    assert.equal(third.bundle.signedPrekey.id, 1);
    assert.deepEqual(await auth.prekeys({ userId, add: [{ id: 12, publicKey: "eA", signature: "eQ" }] }), { count: 1, kemCount: 0, kemLastResort: false });
    assert.equal(await code(auth.claim({ userId: CLAIMER, username: "nobody" })), "NO_SUCH_USER");
    assert.deepEqual(await auth.user({ username: "bob" }), { userId, username: "bob", identityKey: bundle.identityKey });
  });

  it("keep the latest backup", async () => {
    const auth = await setup().make();
    const { userId } = await auth.register({ username: "bob", salt: SALT, secret: PASSWORD, bundle, backup, addr: "a" });
    assert.deepEqual(await auth.backup({ userId }), { backup });
    assert.deepEqual(await auth.backup({ userId, put: "bmV3LWJhY2t1cC1ibG9i" }), { backup: "bmV3LWJhY2t1cC1ibG9i" });
    assert.deepEqual(await auth.backup({ userId }), { backup: "bmV3LWJhY2t1cC1ibG9i" });
  });
});

describe("salts and password changes", () => {
  it("answers an account's salt, and a made-up one for a name nobody has", async () => {
    const auth = await setup().make();
    await auth.register({ username: "bob", salt: SALT, secret: PASSWORD, bundle, backup, addr: "a" });
    assert.deepEqual(await auth.salt({ username: "BOB" }), { salt: SALT });
    assert.deepEqual(await auth.salt({ username: "nobody" }), { salt: new FakeSalts().fakeSalt("nobody") });
  });

  it("changes the password only with the current secret, and ends the other sessions", async () => {
    const env = setup();
    const auth = await env.make();
    const first = await auth.register({ username: "bob", salt: SALT, secret: PASSWORD, bundle, backup, addr: "a" });
    const other = await auth.login({ username: "bob", secret: PASSWORD, addr: "a" });
    const change = { userId: first.userId, sid: first.sid, salt: "bmV3LXNhbHQtbmV3LXNhbA", newSecret: "new secret", backup: "bmV3LWJhY2t1cC1ibG9i", addr: "a" };
    assert.equal(await code(auth.passwd({ ...change, secret: "wrong" })), "BAD_CREDENTIALS");
    assert.deepEqual(await auth.passwd({ ...change, secret: PASSWORD }), { ended: [other.sid] });
    assert.deepEqual(env.sessionEnds.events, [{ sid: other.sid }]);
    assert.deepEqual(await auth.salt({ username: "bob" }), { salt: change.salt });
    assert.deepEqual(await auth.backup({ userId: first.userId }), { backup: change.backup });
    assert.equal(await code(auth.login({ username: "bob", secret: PASSWORD, addr: "a" })), "BAD_CREDENTIALS");
    assert.equal(await code(auth.login({ username: "bob", secret: "new secret", addr: "a" })), "ok");
  });
});

describe("claim limits", () => {
  const prekeys = (n: number) => Array.from({ length: n }, (_, i) => ({ id: 100 + i, publicKey: "b3Rr", signature: "c2ln" }));

  it("refuses a claimer past its limit for one target, then for all", async () => {
    const env = setup(DEFAULT_LOGIN_POLICY, { claimerLimit: 5, pairLimit: 3, targetPrekeyLimit: 100, claimWindowMs: 3_600_000 });
    const auth = await env.make();
    await auth.register({ username: "bob", salt: SALT, secret: PASSWORD, bundle, backup, addr: "a" });
    await auth.register({ username: "cat", salt: SALT, secret: PASSWORD, bundle, backup, addr: "a" });
    const claims = [];
    for (let i = 0; i < 4; i++) claims.push(await code(auth.claim({ userId: CLAIMER, username: "bob" })));
    assert.deepEqual(claims, ["ok", "ok", "ok", "RATE_LIMITED"]);
    // The refused one counted too: one more for cat reaches the claimer's 5.
    assert.equal(await code(auth.claim({ userId: CLAIMER, username: "cat" })), "ok");
    assert.equal(await code(auth.claim({ userId: CLAIMER, username: "cat" })), "RATE_LIMITED");
    env.clock.advance(3600);
    assert.equal(await code(auth.claim({ userId: CLAIMER, username: "bob" })), "ok", "a new window starts afresh");
  });

  it("hands out no more one-time prekeys of a target past its limit, yet still a bundle", async () => {
    const env = setup(DEFAULT_LOGIN_POLICY, { claimerLimit: 100, pairLimit: 100, targetPrekeyLimit: 2, claimWindowMs: 3_600_000 });
    const auth = await env.make();
    const { userId } = await auth.register({ username: "bob", salt: SALT, secret: PASSWORD, bundle: { ...bundle, oneTimePrekeys: prekeys(10) }, backup, addr: "a" });
    const got = [];
    for (let i = 0; i < 4; i++) got.push((await auth.claim({ userId: `00000000-0000-4000-8000-00000000000${i}`, username: "bob" })).bundle.oneTimePrekey?.id);
    assert.deepEqual(got, [100, 101, undefined, undefined]);
    assert.deepEqual(await auth.prekeys({ userId, add: [] }), { count: 8, kemCount: 0, kemLastResort: false });
  });
});
