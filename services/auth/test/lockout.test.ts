/**
 * The lockout against real Postgres, with a hasher that counts its checks: concurrent
 * guesses cannot get more hash checks than the limit, a stranger cannot keep the owner
 * out, and the answers do not tell an existing account from a missing one.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { NatterError } from "@natter/protocol";
import { quietLogger, testServices, type TestServices } from "@natter/kit/testing";
import { BcryptHasher } from "../src/adapters/crypto/bcrypt-hasher.ts";
import { HmacSalts } from "../src/adapters/crypto/hmac-salts.ts";
import { JwtIssuer } from "../src/adapters/crypto/jwt-issuer.ts";
import { nodeSecrets } from "../src/adapters/crypto/node-secrets.ts";
import { PgAccountStore } from "../src/adapters/pg/account-store.ts";
import { PgAttemptStore } from "../src/adapters/pg/attempt-store.ts";
import { PgClaimCounter } from "../src/adapters/pg/claim-counter.ts";
import { PgSessionStore } from "../src/adapters/pg/session-store.ts";
import { AuthService } from "../src/domain/auth-service.ts";
import { DEFAULT_CLAIM_POLICY } from "../src/domain/claim-limits.ts";
import { DEFAULT_LOGIN_POLICY } from "../src/domain/login-policy.ts";
import type { PasswordHasher } from "../src/domain/password-hasher.ts";
import { generateSigningKey, loadAuthConfig, startAuth, type RunningAuth } from "../src/index.ts";
import { FakeClock, RecordingPublisher } from "./fakes.ts";

// Login secrets as the client derives them (32 bytes, base64url): the owner's, and a wrong guess.
const SECRET = "owner-secret-".padEnd(43, "x");
const WRONG = "wrong-guess-".padEnd(43, "y");
const SALT = "s".repeat(22);
const bundle = {
  v: 1 as const, identityKey: "aWs", identityDhKey: "ZGg", identityDhSignature: "c2ln",
  signedPrekey: { id: 1, publicKey: "c3Br", signature: "c2ln" }, oneTimePrekeys: [],
};

/** bcrypt at the lowest cost, counting every check. */
class CountingHasher implements PasswordHasher {
  checks = 0;
  private readonly inner = new BcryptHasher(4, 4);
  hash(secret: string): Promise<string> {
    return this.inner.hash(secret);
  }
  verify(secret: string, hash: string): Promise<boolean> {
    this.checks += 1;
    return this.inner.verify(secret, hash);
  }
}

async function outcome(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "ok";
  } catch (err) {
    assert.ok(err instanceof NatterError, String(err));
    return err.code;
  }
}

describe("lockout against Postgres", () => {
  let services: TestServices;
  let running: RunningAuth;
  let pool: pg.Pool;
  let clock: FakeClock;
  let hasher: CountingHasher;
  let auth: AuthService;

  before(async () => {
    services = await testServices();
    // Started for its migrations; the service under test below shares its database.
    running = await startAuth(loadAuthConfig({
      NATS_URL: services.natsUrl, DATABASE_URL: services.databaseUrl, NATTER_NAMESPACE: services.namespace,
      AUTH_JWT_KEYS: JSON.stringify([await generateSigningKey()]), AUTH_BCRYPT_COST: "4", NODE_ENV: "test",
    }), { logger: quietLogger("auth") });
    pool = new pg.Pool({ connectionString: services.databaseUrl, max: 20 });
    // The pool's end lets its clients go before their connections have closed, and the
    // database is dropped right after: a connection ended by that drop must not throw.
    pool.on("connect", (client) => client.on("error", () => undefined));
    clock = new FakeClock(Date.UTC(2031, 5, 1));
    hasher = new CountingHasher();
    auth = await AuthService.create({
      accounts: new PgAccountStore(pool),
      sessions: new PgSessionStore(pool),
      sessionEnds: new RecordingPublisher<{ sid: string }>(),
      attempts: new PgAttemptStore(pool),
      hasher,
      tokens: await JwtIssuer.create([await generateSigningKey()], 900),
      secrets: nodeSecrets,
      salts: new HmacSalts("a server secret of at least 32 characters"),
      claims: new PgClaimCounter(pool),
      clock,
    }, { ...DEFAULT_LOGIN_POLICY, ...DEFAULT_CLAIM_POLICY, addrLimit: 1000, refreshTtlMs: 86_400_000 });
  });

  after(async () => {
    await pool?.end();
    await running?.close();
    await services?.cleanup();
  });

  const register = (username: string, addr: string) => auth.register({ username, salt: SALT, secret: SECRET, bundle, backup: "YmFja3VwLWJsb2ItMDAwMA", addr });
  const guess = (username: string, addr: string) => outcome(auth.login({ username, secret: WRONG, addr }));
  const ownerLogin = (username: string, addr: string) => outcome(auth.login({ username, secret: SECRET, addr }));

  it("answers twenty concurrent wrong guesses with at most the limit's worth of hash checks", async () => {
    await register("racer", "10.1.0.1");
    hasher.checks = 0;
    const answers = await Promise.all(Array.from({ length: 20 }, () => guess("racer", "6.6.6.6")));
    assert.ok(hasher.checks <= DEFAULT_LOGIN_POLICY.maxFailures, `${hasher.checks} hash checks for 20 concurrent guesses`);
    assert.equal(answers.filter((a) => a === "BAD_CREDENTIALS").length, hasher.checks);
    assert.ok(answers.every((a) => a === "BAD_CREDENTIALS" || a === "ACCOUNT_LOCKED"), answers.join());
  });

  it("gives guesses from many addresses at once only the account-wide allowance of hash checks", async () => {
    await register("spread", "10.1.0.2");
    hasher.checks = 0;
    await Promise.all(Array.from({ length: 20 }, (_, i) => guess("spread", `7.7.7.${i}`)));
    assert.ok(hasher.checks <= DEFAULT_LOGIN_POLICY.accountDelayAfter, `${hasher.checks} hash checks for 20 addresses`);
  });

  it("lets the owner log in from their address while a stranger keeps guessing", async () => {
    await register("owner", "10.1.0.3");
    assert.equal(await ownerLogin("owner", "10.1.0.3"), "ok");
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 6; i++) await guess("owner", `8.8.${round}.${i}`);
      await guess("owner", "8.8.8.8");
      assert.equal(await ownerLogin("owner", "10.1.0.3"), "ok", `round ${round}`);
      clock.advance(20);
    }
  });

  it("answers the same for an existing account and a missing one, guess after guess", async () => {
    await register("exists", "10.1.0.4");
    const pattern = async (username: string) => {
      const seen: string[] = [];
      for (let i = 0; i < 5; i++) seen.push(await guess(username, "9.9.9.9"));
      for (let i = 0; i < 12; i++) seen.push(await guess(username, `9.9.8.${i}`));
      return seen;
    };
    assert.deepEqual(await pattern("exists"), await pattern("missing"));
  });
});
