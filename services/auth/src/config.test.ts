import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "@natter/kit";
import { generateSigningKey } from "./adapters/crypto/jwt-issuer.ts";
import { loadAuthConfig } from "./config.ts";

describe("auth configuration", () => {
  it("reads the keys and applies defaults", async () => {
    const key = await generateSigningKey();
    const config = loadAuthConfig({ DATABASE_URL: "postgres://db/natter", AUTH_JWT_KEYS: JSON.stringify([key]) });
    assert.equal(config.AUTH_JWT_KEYS[0]!.kid, key.kid);
    assert.equal(config.AUTH_BCRYPT_COST, 12);
    assert.equal(config.AUTH_TOKEN_TTL, 900);
    assert.equal(config.AUTH_REFRESH_TTL, 30 * 24 * 3600);
    assert.equal(config.AUTH_LOCK_SECONDS, 60);
    assert.equal(config.AUTH_ADDR_LIMIT, 30);
    assert.equal(config.AUTH_HEALTH_PORT, 0);
  });

  it("allows a low bcrypt cost only in tests", async () => {
    const keys = JSON.stringify([await generateSigningKey()]);
    assert.equal(loadAuthConfig({ DATABASE_URL: "postgres://db", AUTH_JWT_KEYS: keys, AUTH_BCRYPT_COST: "4", NODE_ENV: "test" }).AUTH_BCRYPT_COST, 4);
    assert.throws(() => loadAuthConfig({ DATABASE_URL: "postgres://db", AUTH_JWT_KEYS: keys, AUTH_BCRYPT_COST: "4" }),
      (err: ConfigError) => err.problems.length === 1 && err.problems[0]!.startsWith("AUTH_BCRYPT_COST"));
  });

  it("lists every problem at once without printing the keys", async () => {
    const key = await generateSigningKey();
    const broken = JSON.stringify([{ ...key, crv: "P-256" }]);
    try {
      loadAuthConfig({ AUTH_JWT_KEYS: broken, AUTH_BCRYPT_COST: "5", AUTH_TOKEN_TTL: "-1", NATTER_NAMESPACE: "NO WAY" });
      assert.fail("expected a ConfigError");
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      const names = new Set(err.problems.map((p) => p.split(/[.:]/)[0]));
      assert.deepEqual([...names].sort(), ["AUTH_BCRYPT_COST", "AUTH_JWT_KEYS", "AUTH_TOKEN_TTL", "DATABASE_URL", "NATTER_NAMESPACE"]);
      assert.ok(!err.message.includes(key.d));
    }
    assert.throws(() => loadAuthConfig({ DATABASE_URL: "postgres://db", AUTH_JWT_KEYS: "{not json" }), (err: ConfigError) =>
      err.problems.some((p) => p.startsWith("AUTH_JWT_KEYS")) && !err.message.includes("not json"));
  });
});
