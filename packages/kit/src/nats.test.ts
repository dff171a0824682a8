import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { natsCredentials, natsInboxPrefix } from "./nats.ts";

describe("NATS credentials", () => {
  it("are a user and password together, or none for an open NATS", () => {
    assert.deepEqual(natsCredentials({ NATS_USER: "edge", NATS_PASSWORD: "n0123456789abcdef" }), { user: "edge", password: "n0123456789abcdef" });
    assert.equal(natsCredentials({}), undefined);
  });

  it("refuse a user without a password, or a password without a user, naming neither value", () => {
    for (const half of [{ NATS_USER: "edge" }, { NATS_PASSWORD: "hunter2hunter2" }]) {
      assert.throws(() => natsCredentials(half), (err: Error) => /NATS_USER and NATS_PASSWORD/.test(err.message) && !err.message.includes("hunter2"));
    }
  });

  it("put each user's replies under a prefix of its own", () => {
    assert.equal(natsInboxPrefix("group"), "_INBOX.group");
    assert.notEqual(natsInboxPrefix("edge"), natsInboxPrefix("auth"));
  });
});
