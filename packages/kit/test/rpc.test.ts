import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { NatterError, verb } from "@natter/protocol";
import { call, connectNats, serve, type NatsConnection } from "@natter/kit";
import { quietLogger, testServices, type TestServices } from "@natter/kit/testing";

const Echo = verb(z.object({ text: z.string().max(10) }), z.object({ text: z.string(), n: z.number() }));

describe("serve and call", () => {
  let services: TestServices;
  let server: NatsConnection;
  let client: NatsConnection;
  const logger = quietLogger();
  const subject = (verbName: string) => `${services.namespace}.svc.kit.${verbName}`;

  before(async () => {
    services = await testServices();
    server = await connectNats({ servers: services.natsUrl, name: "kit-test-server", logger });
    client = await connectNats({ servers: services.natsUrl, name: "kit-test-client", logger });
    serve(server, subject("echo"), "kit", Echo, async (req) => ({ text: req.text.toUpperCase(), n: req.text.length }), logger);
    serve(server, subject("refuse"), "kit", Echo, async () => {
      throw new NatterError("ACCOUNT_LOCKED", undefined, { detail: { retryAfter: 42 } });
    }, logger);
    serve(server, subject("crash"), "kit", Echo, async () => {
      throw new Error("secret internals");
    }, logger);
    serve(server, subject("slow"), "kit", Echo, async (req) => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      return { text: req.text, n: 0 };
    }, logger);
    await server.flush();
  });

  after(async () => {
    await client?.close();
    await server?.drain();
    await services?.cleanup();
  });

  it("round-trips a request", async () => {
    assert.deepEqual(await call(client, subject("echo"), Echo, { text: "hi" }), { text: "HI", n: 2 });
  });

  it("passes a NatterError through with its code and detail", async () => {
    await assert.rejects(call(client, subject("refuse"), Echo, { text: "x" }), (err) => {
      assert.ok(err instanceof NatterError);
      assert.equal(err.code, "ACCOUNT_LOCKED");
      assert.deepEqual(err.detail, { retryAfter: 42 });
      return true;
    });
  });

  it("answers a malformed request with BAD_FRAME", async () => {
    await assert.rejects(call(client, subject("echo"), Echo, { text: "far too long a text" }), { code: "BAD_FRAME" });
    const raw = await client.request(subject("echo"), "not json", { timeout: 2000 });
    assert.deepEqual(raw.json<{ ok: boolean; code: string }>().code, "BAD_FRAME");
  });

  it("answers INTERNAL when a handler throws, without the details", async () => {
    await assert.rejects(call(client, subject("crash"), Echo, { text: "x" }), (err) => {
      assert.ok(err instanceof NatterError);
      assert.equal(err.code, "INTERNAL");
      assert.ok(!err.message.includes("secret internals"));
      return true;
    });
  });

  it("runs handlers concurrently", async () => {
    const started = Date.now();
    await Promise.all(Array.from({ length: 10 }, () => call(client, subject("slow"), Echo, { text: "z" })));
    assert.ok(Date.now() - started < 1500);
  });

  it("says UNAVAILABLE when nobody serves the subject", async () => {
    await assert.rejects(call(client, subject("nobody"), Echo, { text: "x" }), { code: "UNAVAILABLE" });
  });

  it("says UNAVAILABLE on a timeout", async () => {
    await assert.rejects(call(client, subject("slow"), Echo, { text: "x" }, { timeoutMs: 50 }), { code: "UNAVAILABLE" });
  });
});
