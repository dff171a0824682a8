import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { SignJWT, createLocalJWKSet, importJWK, jwtVerify } from "jose";
import pg from "pg";
import { AuthApi, NatterError, names, type PublicBundle, type SignedPrekey } from "@natter/protocol";
import { call, connectNats, type NatsConnection } from "@natter/kit";
import { quietLogger, testServices, type TestServices } from "@natter/kit/testing";
import { generateSigningKey, loadAuthConfig, startAuth, type RunningAuth } from "../src/index.ts";

const b64 = (n = 32) => randomBytes(n).toString("base64url");
const prekey = (id: number): SignedPrekey => ({ id, publicKey: b64(), signature: b64(64) });
const bundle = (oneTime: number): PublicBundle => ({
  v: 1,
  identityKey: b64(),
  identityDhKey: b64(),
  identityDhSignature: b64(64),
  signedPrekey: prekey(1),
  oneTimePrekeys: Array.from({ length: oneTime }, (_, i) => prekey(100 + i)),
});
const backup = () => b64(200);
const SALT = b64(16);
/** Any 32 bytes stand for the login secret the CLI derives from a password. */
const secretOf = (password: string) => createHash("sha256").update(password).digest("base64url");

describe("auth service over NATS", () => {
  let services: TestServices;
  let auth: RunningAuth;
  let nc: NatsConnection;
  let n: ReturnType<typeof names>;
  let offsetMs = 0;
  let frozenAt: number | undefined;
  const clock = { now: () => frozenAt ?? Date.now() + offsetMs };
  const rpc = <K extends keyof typeof AuthApi>(verb: K, req: Parameters<typeof call<(typeof AuthApi)[K]>>[3]) =>
    call(nc, n.auth(verb), AuthApi[verb], req);
  const errorCode = async (promise: Promise<unknown>) => {
    try {
      await promise;
      return "ok";
    } catch (err) {
      assert.ok(err instanceof NatterError, String(err));
      return err.code;
    }
  };

  before(async () => {
    services = await testServices();
    n = names(services.namespace);
    const config = loadAuthConfig({
      NATS_URL: services.natsUrl,
      DATABASE_URL: services.databaseUrl,
      NATTER_NAMESPACE: services.namespace,
      AUTH_JWT_KEYS: JSON.stringify([await generateSigningKey(), await generateSigningKey()]),
      AUTH_BCRYPT_COST: "4",
      AUTH_ADDR_LIMIT: "20",
      // The claims below drain one user's prekeys on purpose.
      AUTH_CLAIM_PREKEY_LIMIT: "100000",
      NODE_ENV: "test",
    });
    auth = await startAuth(config, { logger: quietLogger("auth"), clock });
    nc = await connectNats({ servers: services.natsUrl, name: "auth-test", logger: quietLogger() });
  });

  after(async () => {
    await nc?.close();
    await auth?.close();
    await services?.cleanup();
  });

  it("registers, logs in, and issues tokens that verify with the published keys", async () => {
    const password = "a fine password";
    const reg = await rpc("register", { username: "Alice", salt: SALT, secret: secretOf(password), bundle: bundle(3), backup: backup(), addr: "t1" });
    assert.equal(reg.username, "alice");
    const grant = await rpc("login", { username: "alice", secret: secretOf(password), addr: "t1" });
    assert.equal(grant.userId, reg.userId);
    assert.notEqual(grant.sid, reg.sid);

    const { keys } = await rpc("keys", {});
    assert.equal(keys.length, 2);
    for (const key of keys) assert.deepEqual(Object.keys(key).sort(), ["alg", "crv", "kid", "kty", "x"]);
    const jwks = createLocalJWKSet({ keys });
    const { payload, protectedHeader } = await jwtVerify(grant.token, jwks, { issuer: "natter", audience: "natter", algorithms: ["EdDSA"] });
    assert.equal(protectedHeader.kid, keys[0]!.kid);
    assert.equal(payload.sub, reg.userId);
    assert.equal(payload["name"], "alice");
    assert.equal(payload["sid"], grant.sid);
    assert.equal(payload.exp, grant.expiresAt);
    assert.equal(payload.exp! - payload.iat!, 900);
  });

  it("refuses a token signed by any other key", async () => {
    const { keys } = await rpc("keys", {});
    const jwks = createLocalJWKSet({ keys });
    for (const kid of [keys[0]!.kid, "someone-else"]) {
      const stranger = await generateSigningKey();
      const forged = await new SignJWT({ name: "alice", sid: crypto.randomUUID() })
        .setProtectedHeader({ alg: "EdDSA", kid })
        .setSubject(crypto.randomUUID()).setIssuer("natter").setAudience("natter").setIssuedAt().setExpirationTime("5m")
        .sign(await importJWK(stranger, "EdDSA"));
      await assert.rejects(jwtVerify(forged, jwks, { issuer: "natter", audience: "natter" }));
    }
  });

  it("refuses a taken username and bad credentials with one error", async () => {
    await rpc("register", { username: "bob", salt: SALT, secret: secretOf("bobs password"), bundle: bundle(0), backup: backup(), addr: "t2" });
    const twice = await Promise.all([
      errorCode(rpc("register", { username: "BOB", salt: SALT, secret: secretOf("another one"), bundle: bundle(0), backup: backup(), addr: "t2" })),
      errorCode(rpc("register", { username: "no way", salt: SALT, secret: secretOf("whatever1"), bundle: bundle(0), backup: backup(), addr: "t2" })),
    ]);
    assert.deepEqual(twice, ["USERNAME_TAKEN", "INVALID_USERNAME"]);
    assert.equal(await errorCode(rpc("login", { username: "bob", secret: secretOf("wrong password"), addr: "t2" })), "BAD_CREDENTIALS");
    assert.equal(await errorCode(rpc("login", { username: "nobody", secret: secretOf("bobs password"), addr: "t2" })), "BAD_CREDENTIALS");
  });

  it("registers a contested name exactly once", async () => {
    const results = await Promise.all(
      Array.from({ length: 5 }, () => errorCode(rpc("register", { username: "dora", salt: SALT, secret: secretOf("doras password"), bundle: bundle(1), backup: backup(), addr: "t3" }))),
    );
    assert.deepEqual(results.sort(), ["USERNAME_TAKEN", "USERNAME_TAKEN", "USERNAME_TAKEN", "USERNAME_TAKEN", "ok"]);
  });

  it("rotates refresh tokens and revokes the session on logout", async () => {
    const grant = await rpc("register", { username: "erin", salt: SALT, secret: secretOf("erins password"), bundle: bundle(0), backup: backup(), addr: "t4" });
    const next = await rpc("refresh", { refresh: grant.refresh });
    assert.equal(next.sid, grant.sid);
    assert.notEqual(next.refresh, grant.refresh);
    assert.deepEqual(await rpc("session", { sid: grant.sid }), { active: true });
    assert.deepEqual(await rpc("logout", { sid: grant.sid }), {});
    assert.deepEqual(await rpc("session", { sid: grant.sid }), { active: false });
    assert.equal(await errorCode(rpc("refresh", { refresh: next.refresh })), "TOKEN_INVALID");
  });

  it("ends the whole session when a spent refresh token comes again", async () => {
    const grant = await rpc("register", { username: "erik", salt: SALT, secret: secretOf("eriks password"), bundle: bundle(0), backup: backup(), addr: "t4" });
    const next = await rpc("refresh", { refresh: grant.refresh, addr: "t4b" });
    assert.equal(await errorCode(rpc("refresh", { refresh: grant.refresh })), "TOKEN_INVALID");
    assert.deepEqual(await rpc("session", { sid: grant.sid }), { active: false });
    assert.equal(await errorCode(rpc("refresh", { refresh: next.refresh })), "TOKEN_INVALID");
  });

  it("locks an address out of an account after three failures for 60 s, and only that address", async () => {
    const password = "franks password";
    await rpc("register", { username: "frank", salt: SALT, secret: secretOf(password), bundle: bundle(0), backup: backup(), addr: "t5" });
    for (let i = 0; i < 3; i++) {
      assert.equal(await errorCode(rpc("login", { username: "frank", secret: secretOf("nope nope"), addr: "f1" })), "BAD_CREDENTIALS");
    }
    await assert.rejects(rpc("login", { username: "frank", secret: secretOf(password), addr: "f1" }),
      (err: NatterError) => err.code === "ACCOUNT_LOCKED" && err.detail?.["retryAfter"] === 60);
    assert.equal(await errorCode(rpc("login", { username: "frank", secret: secretOf(password), addr: "t5" })), "ok", "the owner's address still logs in");
    offsetMs += 59_000;
    assert.equal(await errorCode(rpc("login", { username: "frank", secret: secretOf(password), addr: "f1" })), "ACCOUNT_LOCKED");
    offsetMs += 1_000;
    assert.equal(await errorCode(rpc("login", { username: "frank", secret: secretOf(password), addr: "f1" })), "ok");
  });

  it("limits attempts per address, shared through Postgres", async () => {
    frozenAt = Date.UTC(2031, 0, 1, 12, 0, 30);
    try {
      let n = 0;
      const attempt = (addr: string) => errorCode(rpc("login", { username: `ghost${n++}`, secret: secretOf("whatever1"), addr }));
      for (let i = 0; i < 20; i++) assert.equal(await attempt("10.9.9.9"), "BAD_CREDENTIALS");
      await assert.rejects(rpc("login", { username: "ghost", secret: secretOf("whatever1"), addr: "10.9.9.9" }),
        (err: NatterError) => err.code === "RATE_LIMITED" && err.detail?.["retryAfter"] === 30);
      assert.equal(await attempt("10.9.9.8"), "BAD_CREDENTIALS");
      frozenAt += 30_000;
      assert.equal(await attempt("10.9.9.9"), "BAD_CREDENTIALS", "a new minute starts afresh");
    } finally {
      frozenAt = undefined;
    }
  });

  it("hands out each one-time prekey exactly once under concurrent claims", async () => {
    const keys = bundle(10);
    const reg = await rpc("register", { username: "hank", salt: SALT, secret: secretOf("hanks password"), bundle: keys, backup: backup(), addr: "t6" });
    const claims = await Promise.all(Array.from({ length: 20 }, () => rpc("claim", { userId: crypto.randomUUID(), username: "hank" })));
    const handed = claims.flatMap((c) => (c.bundle.oneTimePrekey ? [c.bundle.oneTimePrekey.id] : []));
    assert.equal(new Set(handed).size, handed.length, "no prekey twice");
    for (const c of claims) {
      assert.equal(c.userId, reg.userId);
      assert.deepEqual(c.bundle.signedPrekey, keys.signedPrekey);
      assert.equal(c.bundle.identityKey, keys.identityKey);
    }
    // Claims that found every remaining row locked by another claim fall back early; drain the rest.
    for (;;) {
      const more = await rpc("claim", { userId: crypto.randomUUID(), username: "hank" });
      if (!more.bundle.oneTimePrekey) {
        assert.deepEqual(more.bundle.signedPrekey, keys.signedPrekey);
        break;
      }
      handed.push(more.bundle.oneTimePrekey.id);
    }
    assert.deepEqual([...handed].sort(), keys.oneTimePrekeys.map((k) => k.id).sort());
    const original = new Map(keys.oneTimePrekeys.map((k) => [k.id, k]));
    for (const c of claims) if (c.bundle.oneTimePrekey) assert.deepEqual(c.bundle.oneTimePrekey, original.get(c.bundle.oneTimePrekey.id));

    assert.deepEqual(await rpc("prekeys", { userId: reg.userId, add: [prekey(500), prekey(501)] }), { count: 2, kemCount: 0, kemLastResort: false });
    assert.equal((await rpc("claim", { userId: crypto.randomUUID(), username: "hank" })).bundle.oneTimePrekey?.id, 500);
    assert.equal(await errorCode(rpc("claim", { userId: crypto.randomUUID(), username: "nobody" })), "NO_SUCH_USER");
    assert.deepEqual(await rpc("user", { username: "HANK" }), { userId: reg.userId, username: "hank", identityKey: keys.identityKey });
    assert.equal(await errorCode(rpc("user", { username: "nobody" })), "NO_SUCH_USER");
    assert.equal(await errorCode(rpc("prekeys", { userId: crypto.randomUUID(), add: [prekey(1)] })), "NO_SUCH_USER");

    assert.deepEqual(await rpc("prekeys", { userId: reg.userId, add: [prekey(600), prekey(601), prekey(602)], replace: true }), { count: 3, kemCount: 0, kemLastResort: false },
      "replace drops the unused ones first");
    assert.equal((await rpc("claim", { userId: crypto.randomUUID(), username: "hank" })).bundle.oneTimePrekey?.id, 600);
  });

  it("stores KEM prekeys: each one-time one handed out once, then the last-resort one, replaced with the signed prekey", async () => {
    const kem = (id: number): SignedPrekey => ({ id, publicKey: b64(1184), signature: b64(64) });
    const lastResort = kem(1);
    const keys = { ...bundle(1), kemLastResortPrekey: lastResort, kemOneTimePrekeys: [kem(10), kem(11)] };
    const reg = await rpc("register", { username: "kemal", salt: SALT, secret: secretOf("kemals password"), bundle: keys, backup: backup(), addr: "t-kem" });
    const claimOnce = async () => (await rpc("claim", { userId: crypto.randomUUID(), username: "kemal" })).bundle;
    const [a, b, c] = [await claimOnce(), await claimOnce(), await claimOnce()];
    assert.deepEqual([a.kemOneTimePrekey, b.kemOneTimePrekey?.id, c.kemOneTimePrekey], [keys.kemOneTimePrekeys[0], 11, undefined]);
    for (const x of [a, b, c]) assert.deepEqual(x.kemLastResortPrekey, lastResort, "every claim carries the last-resort KEM prekey");
    assert.deepEqual(await rpc("prekeys", { userId: reg.userId, add: [], addKem: [kem(12), kem(13)] }), { count: 0, kemCount: 2, kemLastResort: true });
    assert.equal((await claimOnce()).kemOneTimePrekey?.id, 12);
    assert.equal(await errorCode(rpc("prekeys", { userId: reg.userId, add: [], addKem: [kem(14), kem(14)] })), "INVALID_BUNDLE");
    assert.deepEqual(await rpc("prekeys", { userId: reg.userId, add: [prekey(1)], addKem: [kem(20)], replace: true }), { count: 1, kemCount: 1, kemLastResort: true });

    const rotated = { signed: prekey(2), kem: kem(2) };
    await rpc("signedPrekey", { userId: reg.userId, key: rotated.signed, kemLastResort: rotated.kem });
    const after = await claimOnce();
    assert.deepEqual([after.signedPrekey, after.kemLastResortPrekey], [rotated.signed, rotated.kem]);
    // A rotation that names no KEM prekey leaves the stored one.
    await rpc("signedPrekey", { userId: reg.userId, key: prekey(3) });
    assert.deepEqual((await claimOnce()).kemLastResortPrekey, rotated.kem);

    // An account made before PQXDH has none until its client publishes one.
    const old = await rpc("register", { username: "oldie", salt: SALT, secret: secretOf("oldies password"), bundle: bundle(0), backup: backup(), addr: "t-kem" });
    assert.equal((await rpc("claim", { userId: crypto.randomUUID(), username: "oldie" })).bundle.kemLastResortPrekey, undefined);
    await rpc("signedPrekey", { userId: old.userId, key: prekey(2), kemLastResort: kem(1) });
    assert.equal((await rpc("claim", { userId: crypto.randomUUID(), username: "oldie" })).bundle.kemLastResortPrekey?.id, 1);
  });

  it("keeps the key backup", async () => {
    const first = backup();
    const reg = await rpc("register", { username: "ivy", salt: SALT, secret: secretOf("ivys password"), bundle: bundle(0), backup: first, addr: "t7" });
    assert.deepEqual(await rpc("backup", { userId: reg.userId }), { backup: first });
    const second = backup();
    assert.deepEqual(await rpc("backup", { userId: reg.userId, put: second }), { backup: second });
    assert.deepEqual(await rpc("backup", { userId: reg.userId }), { backup: second });
    assert.equal(await errorCode(rpc("backup", { userId: crypto.randomUUID() })), "NO_SUCH_USER");
  });

  it("hands out an account's salt, and for a name nobody has a made-up one that stays the same", async () => {
    const salt = b64(16);
    await rpc("register", { username: "kate", salt, secret: secretOf("kates password"), bundle: bundle(0), backup: backup(), addr: "t9" });
    assert.deepEqual(await rpc("salt", { username: "KATE" }), { salt });
    const made = await rpc("salt", { username: "nobody-here" });
    assert.match(made.salt, /^[A-Za-z0-9_-]{22}$/);
    assert.deepEqual(await rpc("salt", { username: "nobody-here" }), made);
    assert.notEqual((await rpc("salt", { username: "nobody-else" })).salt, made.salt);
  });

  it("changes the password: the new salt, secret and backup at once, other sessions ended", async () => {
    const first = await rpc("register", { username: "liam", salt: SALT, secret: secretOf("old password"), bundle: bundle(0), backup: backup(), addr: "t10" });
    const other = await rpc("login", { username: "liam", secret: secretOf("old password"), addr: "t10" });
    const salt = b64(16);
    const sealed = backup();
    const change = { userId: first.userId, sid: first.sid, salt, newSecret: secretOf("new password"), backup: sealed, addr: "t10" };
    assert.equal(await errorCode(rpc("passwd", { ...change, secret: secretOf("wrong password") })), "BAD_CREDENTIALS");
    assert.deepEqual(await rpc("passwd", { ...change, secret: secretOf("old password") }), { ended: [other.sid] });
    assert.deepEqual(await rpc("salt", { username: "liam" }), { salt });
    assert.deepEqual(await rpc("backup", { userId: first.userId }), { backup: sealed });
    assert.equal(await errorCode(rpc("login", { username: "liam", secret: secretOf("old password"), addr: "t10" })), "BAD_CREDENTIALS");
    assert.equal(await errorCode(rpc("login", { username: "liam", secret: secretOf("new password"), addr: "t10" })), "ok");
    assert.deepEqual(await rpc("session", { sid: other.sid }), { active: false });
    assert.deepEqual(await rpc("session", { sid: first.sid }), { active: true });
  });

  it("keeps no password or refresh token in plaintext", async () => {
    const password = `plain-${b64(12)}`;
    const grant = await rpc("register", { username: "jack", salt: SALT, secret: secretOf(password), bundle: bundle(0), backup: backup(), addr: "t8" });
    const client = new pg.Client({ connectionString: services.databaseUrl });
    await client.connect();
    try {
      const tables = await client.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'auth'");
      assert.ok(tables.rows.length >= 6);
      for (const { table_name } of tables.rows) {
        const rows = await client.query<{ row: string }>(`SELECT t::text AS row FROM auth."${table_name}" t`);
        for (const { row } of rows.rows) {
          assert.ok(!row.includes(password), `password in auth.${table_name}`);
          assert.ok(!row.includes(secretOf(password)), `login secret in auth.${table_name}`);
          assert.ok(!row.includes(grant.refresh), `refresh token in auth.${table_name}`);
        }
      }
    } finally {
      await client.end();
    }
  });
});
