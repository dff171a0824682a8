import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { createLogger } from "./logger.ts";

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split("\n").filter(Boolean));
      done();
    },
  });
  return { lines, stream };
}

describe("createLogger", () => {
  it("redacts secrets wherever they appear", () => {
    const { lines, stream } = capture();
    const logger = createLogger("test", "info", stream);
    logger.child({ token: "tok-in-binding" }).info(
      {
        password: "pw-top",
        req: { username: "alice", password: "pw-nested", deep: { refresh: "rf", list: [{ backup: "bk", identityKey: "ik" }] } },
        body: "plaintext",
        secret: "s",
        key: "k",
        count: 3,
      },
      "hello",
    );
    const text = lines.join("\n");
    for (const leaked of ["tok-in-binding", "pw-top", "pw-nested", "rf", '"bk"', '"ik"', "plaintext"]) {
      assert.ok(!text.includes(leaked), `${leaked} leaked: ${text}`);
    }
    const entry = JSON.parse(lines[0]!);
    assert.equal(entry.service, "test");
    assert.equal(entry.level, "info");
    assert.equal(entry.req.username, "alice");
    assert.equal(entry.count, 3);
  });

  it("keeps errors readable", () => {
    const { lines, stream } = capture();
    createLogger("test", "info", stream).error({ err: new Error("boom") }, "failed");
    const entry = JSON.parse(lines[0]!);
    assert.equal(entry.err.message, "boom");
    assert.equal(entry.err.type, "Error");
  });
});

describe("error logging", () => {
  it("keeps only type, message, stack, code and cause", () => {
    const { lines, stream } = capture();
    const err = Object.assign(new Error("db down", { cause: new Error("socket closed") }), { code: "57P01", client: { password: "pw" } });
    createLogger("test", "info", stream).warn({ err }, "failed");
    const entry = JSON.parse(lines[0]!);
    assert.deepEqual(Object.keys(entry.err).sort(), ["cause", "code", "message", "stack", "type"]);
    assert.equal(entry.err.cause.message, "socket closed");
  });
});
