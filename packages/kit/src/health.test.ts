import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { startHealth } from "./health.ts";
import { createLogger } from "./logger.ts";
import { Counter, createRegistry } from "./metrics.ts";

const logger = createLogger("test", "silent", new Writable({ write: (_c, _e, done) => done() }));

describe("health endpoints", () => {
  it("answer healthz always and readyz as the check says", async () => {
    let ready = false;
    const health = await startHealth({ port: 0, host: "127.0.0.1", ready: async () => ready, logger });
    try {
      const base = `http://127.0.0.1:${health.port}`;
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      assert.equal((await fetch(`${base}/readyz`)).status, 503);
      ready = true;
      assert.equal((await fetch(`${base}/readyz`)).status, 200);
      assert.equal((await fetch(`${base}/nope`)).status, 404);
    } finally {
      await health.close();
    }
  });

  it("serves Prometheus metrics, the service's own and Node's event-loop delay", async () => {
    const metrics = createRegistry("test");
    new Counter({ name: "natter_test_things_total", help: "things", registers: [metrics] }).inc(3);
    const health = await startHealth({ port: 0, host: "127.0.0.1", ready: async () => true, logger, metrics });
    try {
      const text = await (await fetch(`http://127.0.0.1:${health.port}/metrics`)).text();
      assert.match(text, /natter_test_things_total\{service="test"\} 3/);
      assert.match(text, /natter_nodejs_eventloop_lag_p99_seconds/);
    } finally {
      await health.close();
    }
  });

  it("reports not ready when the check throws", async () => {
    const health = await startHealth({ port: 0, host: "127.0.0.1", ready: async () => { throw new Error("db down"); }, logger });
    try {
      assert.equal((await fetch(`http://127.0.0.1:${health.port}/readyz`)).status, 503);
    } finally {
      await health.close();
    }
  });
});
