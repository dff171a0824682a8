import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort } from "../src/testing.ts";

const fixture = fileURLToPath(new URL("./fixtures/service.ts", import.meta.url));
const VALID = { FIXTURE_PORT: "1", FIXTURE_SECRET: "fixture-secret-value" };

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", fixture], {
    env: { ...process.env, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const printed = (text: string) => new Promise<void>((resolve, reject) => {
    const check = () => stdout.includes(text) && resolve();
    check();
    child.stdout.on("data", check);
    void exited.then(() => reject(new Error(`exited before printing ${JSON.stringify(text)}: ${stderr}`)));
  });
  const ready = printed("ready\n");
  ready.catch(() => {}); // awaited by the tests that expect readiness
  return { child, ready, printed, exited, out: () => stdout, err: () => stderr };
}

describe("runService", () => {
  it("runs shutdown steps in reverse order on SIGTERM and exits 0", async () => {
    const svc = start({ ...VALID, FIXTURE_MODE: "ok" });
    await svc.ready;
    svc.child.kill("SIGTERM");
    assert.equal(await svc.exited, 0);
    const out = svc.out();
    assert.ok(out.indexOf("last-registered-closed") < out.indexOf("first-registered-closed"), out);
    assert.ok(!out.includes('"msg":"fixture ready"'), "logs below LOG_LEVEL stay out");
  });

  it("exits 0 within the drain bound when a step hangs", async () => {
    const svc = start({ ...VALID, FIXTURE_MODE: "hang" });
    await svc.ready;
    svc.child.kill("SIGINT");
    assert.equal(await svc.exited, 0);
  });

  it("prints one line naming every config problem and exits 1", async () => {
    const svc = start({ FIXTURE_PORT: "x" });
    assert.equal(await svc.exited, 1);
    const lines = svc.err().trim().split("\n");
    assert.equal(lines.length, 1, svc.err());
    assert.match(lines[0]!, /^fixture: invalid configuration: .*FIXTURE_PORT.*FIXTURE_SECRET/);
  });

  it("prints one line and exits 1 when the service cannot start", async () => {
    const svc = start({ ...VALID, FIXTURE_MODE: "fail" });
    assert.equal(await svc.exited, 1);
    assert.equal(svc.err(), "fixture: failed to start: cannot reach the fixture's database\n");
  });

  it("logs its configuration without secrets and serves /readyz on its health port", async () => {
    const port = await freePort();
    const svc = start({ ...VALID, LOG_LEVEL: "info", FIXTURE_HEALTH_PORT: String(port) });
    await svc.printed('"msg":"started"');
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.equal(ready.status, 200);
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.match(await metrics.text(), /service="fixture"/);
    svc.child.kill("SIGTERM");
    assert.equal(await svc.exited, 0);
    const out = svc.out();
    assert.match(out, /"msg":"starting"/);
    assert.match(out, /"FIXTURE_SECRET":"\[redacted\]"/i);
    assert.ok(!out.includes(VALID.FIXTURE_SECRET), "the secret is never printed");
  });
});
