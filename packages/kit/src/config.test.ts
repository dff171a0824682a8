import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { COMMON_SECRETS, CommonEnv, ConfigError, loadConfig, redactConfig } from "./config.ts";

const Schema = z.object({
  ...CommonEnv,
  PORT: z.coerce.number().int().min(1).max(65535).default(7000),
  SECRET: z.string().min(16),
});

describe("loadConfig", () => {
  it("applies defaults and freezes the result", () => {
    const config = loadConfig(Schema, { DATABASE_URL: "postgres://x", SECRET: "s".repeat(16) });
    assert.equal(config.NATS_URL, "nats://127.0.0.1:4222");
    assert.equal(config.NATTER_NAMESPACE, "natter");
    assert.equal(config.LOG_LEVEL, "info");
    assert.equal(config.PORT, 7000);
    assert.ok(Object.isFrozen(config));
  });

  it("lists every problem by name and never the values", () => {
    const secret = "too-short-secret";
    try {
      loadConfig(Schema, { NATTER_NAMESPACE: "Bad Namespace!", PORT: "99999", LOG_LEVEL: "loud", SECRET: secret.slice(0, 5) });
      assert.fail("expected a ConfigError");
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      const names = err.problems.map((p) => p.split(":")[0]);
      assert.deepEqual(names.sort(), ["DATABASE_URL", "LOG_LEVEL", "NATTER_NAMESPACE", "PORT", "SECRET"]);
      assert.match(err.problems.find((p) => p.startsWith("DATABASE_URL"))!, /required/);
      assert.ok(!err.message.includes("Bad Namespace"));
      assert.ok(!err.message.includes(secret.slice(0, 5)));
    }
  });

  it("treats empty variables as unset", () => {
    const config = loadConfig(Schema, { DATABASE_URL: "postgres://x", SECRET: "s".repeat(16), PORT: "", NATTER_NAMESPACE: "" });
    assert.equal(config.PORT, 7000);
    assert.equal(config.NATTER_NAMESPACE, "natter");
  });
});

describe("redactConfig", () => {
  it("hides secret keys and passwords inside URLs", () => {
    const out = redactConfig(
      { DATABASE_URL: "postgres://natter:hunter22@db:5432/natter", NATS_URL: "nats://a:b@n1:4222,nats://n2:4222", SECRET: "x", PORT: 1 },
      ["SECRET"],
    );
    assert.equal(out["DATABASE_URL"], "postgres://natter:[redacted]@db:5432/natter");
    assert.equal(out["NATS_URL"], "nats://a:[redacted]@n1:4222,nats://n2:4222");
    assert.equal(out["SECRET"], "[redacted]");
    assert.equal(out["PORT"], 1);
  });
});

describe("CommonEnv's NATS user", () => {
  it("is optional, and its password is among the secrets every service redacts", () => {
    const open = loadConfig(Schema, { DATABASE_URL: "postgres://x", SECRET: "s".repeat(16) });
    assert.equal(open.NATS_USER, undefined);
    const config = loadConfig(Schema, { DATABASE_URL: "postgres://x", SECRET: "s".repeat(16), NATS_USER: "edge", NATS_PASSWORD: "n0123456789abcdef" });
    const printed = JSON.stringify(redactConfig(config, COMMON_SECRETS));
    assert.ok(!printed.includes("n0123456789abcdef"));
    assert.match(printed, /"NATS_USER":"edge"/);
  });

  it("refuses a user name NATS would not take as one token", () => {
    assert.throws(() => loadConfig(Schema, { DATABASE_URL: "postgres://x", SECRET: "s".repeat(16), NATS_USER: "a b" }), /NATS_USER/);
  });
});
