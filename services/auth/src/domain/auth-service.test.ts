import { beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { NatterError, type PublicBundle } from "@natter/protocol";
import { AuthService } from "./auth-service.ts";
import { FakeClock, FakeHasher, FakeSecrets, FakeTokens, MemoryAccounts, MemoryAttempts, MemorySessions, RecordingPublisher } from "../../test/fakes.ts";
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

function setup(policy = DEFAULT_LOGIN_POLICY) {
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
  };
  const make = () => AuthService.create(deps, { ...policy, refreshTtlMs: 30 * 86_400_000 });
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
    const grant = await auth.register({ username: "Alice", password: PASSWORD, bundle, backup, addr: "a" });
    assert.equal(grant.username, "alice");
    assert.ok(grant.token && grant.refresh && grant.sid);
  });

  it("refuses a taken name, whatever its case", async () => {
    const auth = await setup().make();
    await auth.register({ username: "alice", password: PASSWORD, bundle, backup, addr: "a" });
    assert.equal(await code(auth.register({ username: "ALICE", password: PASSWORD, bundle, backup, addr: "a" })), "USERNAME_TAKEN");
  });

  it("refuses invalid names and passwords out of 8–72 bytes", async () => {
    const auth = await setup().make();
    assert.equal(await code(auth.register({ username: "a b", password: PASSWORD, bundle, backup, addr: "a" })), "INVALID_USERNAME");
    assert.equal(await code(auth.register({ username: "bob", password: "short", bundle, backup, addr: "a" })), "PASSWORD_TOO_SHORT");
    assert.equal(await code(auth.register({ username: "bob", password: "x".repeat(73), bundle, backup, addr: "a" })), "PASSWORD_TOO_LONG");
    assert.equal(await code(auth.register({ username: "bob", password: "é".repeat(37), bundle, backup, addr: "a" })), "PASSWORD_TOO_LONG");
    assert.equal(await code(auth.register({ username: "bob", password: "x".repeat(72), bundle, backup, addr: "a" })), "ok");
  });

  it("refuses a bundle whose one-time prekey ids repeat", async () => {
    const auth = await setup().make();
    const twice = { ...bundle, oneTimePrekeys: [bundle.oneTimePrekeys[0]!, bundle.oneTimePrekeys[0]!] };
    assert.equal(await code(auth.register({ username: "bob", password: PASSWORD, bundle: twice, backup, addr: "a" })), "INVALID_BUNDLE");
  });
});

describe("login", () => {
  let env: ReturnType<typeof setup>;
  let auth: AuthService;
  const login = (password: string, addr = "1.2.3.4", username = "alice") => code(auth.login({ username, password, addr }));

  beforeEach(async () => {
    env = setup();
    auth = await env.make();
    await auth.register({ username: "alice", password: PASSWORD, bundle, backup, addr: "setup" });
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

  it("refuses a password that matches only in its first 72 bytes", async () => {
    const long = "p".repeat(72);
    await auth.register({ username: "carol", password: long, bundle, backup, addr: "setup" });
    assert.equal(await login(long + "extra", "a", "carol"), "BAD_CREDENTIALS");
    assert.equal(await login(long, "a", "carol"), "ok");
  });

  it("locks the account after three failures in a row, from any address, for 60 s", async () => {
    assert.equal(await login("wrong 1", "10.0.0.1"), "BAD_CREDENTIALS");
    assert.equal(await login("wrong 2", "10.0.0.2"), "BAD_CREDENTIALS");
    assert.equal(await login("wrong 3", "10.0.0.3"), "BAD_CREDENTIALS");
    const locked = auth.login({ username: "alice", password: PASSWORD, addr: "10.0.0.4" });
    await assert.rejects(locked, (err: NatterError) => err.code === "ACCOUNT_LOCKED" && err.detail?.["retryAfter"] === 60);

    env.clock.advance(59);
    await assert.rejects(auth.login({ username: "alice", password: PASSWORD, addr: "10.0.0.5" }),
      (err: NatterError) => err.code === "ACCOUNT_LOCKED" && err.detail?.["retryAfter"] === 1);

    env.clock.advance(1);
    assert.equal(await login(PASSWORD, "10.0.0.6"), "ok");
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
    const tryFrom = (addr: string) => code(svc.login({ username: `user${addr}`, password: PASSWORD, addr }));
    for (let i = 0; i < 5; i++) assert.equal(await tryFrom("9.9.9.9"), "BAD_CREDENTIALS");
    await assert.rejects(svc.login({ username: "x12", password: PASSWORD, addr: "9.9.9.9" }),
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
    const grant = await auth.register({ username: "alice", password: PASSWORD, bundle, backup, addr: "a" });
    const next = await auth.refresh({ refresh: grant.refresh });
    assert.equal(next.sid, grant.sid);
    assert.notEqual(next.refresh, grant.refresh);
    assert.equal(await code(auth.refresh({ refresh: grant.refresh })), "TOKEN_INVALID");
    assert.deepEqual(await auth.session({ sid: grant.sid }), { active: true });
    assert.deepEqual(env.sessionEnds.events, []);
    await auth.logout({ sid: grant.sid });
    assert.deepEqual(await auth.session({ sid: grant.sid }), { active: false });
    assert.deepEqual(env.sessionEnds.events, [{ sid: grant.sid }], "the edges are told the session ended");
    assert.equal(await code(auth.refresh({ refresh: next.refresh })), "TOKEN_INVALID");
  });

  it("expire when the refresh token does", async () => {
    const env = setup();
    const auth = await env.make();
    const grant = await auth.register({ username: "alice", password: PASSWORD, bundle, backup, addr: "a" });
    env.clock.advance(30 * 86_400);
    assert.equal(await code(auth.refresh({ refresh: grant.refresh })), "TOKEN_INVALID");
    assert.deepEqual(await auth.session({ sid: grant.sid }), { active: false });
  });
});

describe("device keys and backup", () => {
  it("hand out one-time prekeys once, then the signed prekey alone", async () => {
    const auth = await setup().make();
    const { userId } = await auth.register({ username: "bob", password: PASSWORD, bundle, backup, addr: "a" });
    const first = await auth.claim({ username: "bob" });
    const second = await auth.claim({ username: "bob" });
    const third = await auth.claim({ username: "bob" });
    assert.deepEqual([first.bundle.oneTimePrekey?.id, second.bundle.oneTimePrekey?.id, third.bundle.oneTimePrekey], [10, 11, undefined]);
    assert.equal(third.bundle.signedPrekey.id, 1);
    assert.deepEqual(await auth.prekeys({ userId, add: [{ id: 12, publicKey: "eA", signature: "eQ" }] }), { count: 1 });
    assert.equal(await code(auth.claim({ username: "nobody" })), "NO_SUCH_USER");
    assert.deepEqual(await auth.user({ username: "bob" }), { userId, username: "bob", identityKey: bundle.identityKey });
  });

  it("keep the latest backup", async () => {
    const auth = await setup().make();
    const { userId } = await auth.register({ username: "bob", password: PASSWORD, bundle, backup, addr: "a" });
    assert.deepEqual(await auth.backup({ userId }), { backup });
    assert.deepEqual(await auth.backup({ userId, put: "bmV3LWJhY2t1cC1ibG9i" }), { backup: "bmV3LWJhY2t1cC1ibG9i" });
    assert.deepEqual(await auth.backup({ userId }), { backup: "bmV3LWJhY2t1cC1ibG9i" });
  });
});
