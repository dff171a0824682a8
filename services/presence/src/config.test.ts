import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "@natter/kit";
import { loadPresenceConfig } from "./config.ts";

describe("presence configuration", () => {
  it("applies defaults", () => {
    const config = loadPresenceConfig({ DATABASE_URL: "postgres://db/natter" });
    assert.equal(config.PRESENCE_HEALTH_PORT, 0);
    assert.equal(config.PRESENCE_EDGE_TIMEOUT_MS, 6000);
    assert.equal(config.PRESENCE_WARMUP_MS, 2500);
  });

  it("lists every problem at once", () => {
    assert.throws(
      () => loadPresenceConfig({ PRESENCE_EDGE_TIMEOUT_MS: "0", PRESENCE_HEALTH_PORT: "http" }),
      (err: ConfigError) => err.problems.map((p) => p.split(":")[0]).sort().join() === "DATABASE_URL,PRESENCE_EDGE_TIMEOUT_MS,PRESENCE_HEALTH_PORT",
    );
  });
});
