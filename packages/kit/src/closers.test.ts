import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { Closers } from "./closers.ts";
import { createLogger } from "./logger.ts";

const logger = createLogger("test", "silent", new Writable({ write: (_c, _e, done) => done() }));

describe("closers", () => {
  it("run in reverse order, once, past a failing step", async () => {
    const ran: string[] = [];
    const closers = new Closers(logger);
    closers.push(() => ran.push("pool"));
    closers.push(async () => { throw new Error("nats already gone"); });
    closers.push(async () => ran.push("server"));
    await closers.close();
    await closers.close();
    assert.deepEqual(ran, ["server", "pool"]);
  });
});
