import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const fixture = fileURLToPath(new URL("./fixtures/service.ts", import.meta.url));

function start(mode: string) {
  const child = spawn(process.execPath, ["--import", "tsx", fixture], {
    env: { ...process.env, FIXTURE_MODE: mode, LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on("data", () => stdout.includes("ready\n") && resolve());
    void exited.then(() => reject(new Error(`exited before ready: ${stderr}`)));
  });
  ready.catch(() => {}); // awaited by the tests that expect readiness
  return { child, ready, exited, out: () => stdout, err: () => stderr };
}

describe("runService", () => {
  it("runs shutdown steps in reverse order on SIGTERM and exits 0", async () => {
    const svc = start("ok");
    await svc.ready;
    svc.child.kill("SIGTERM");
    assert.equal(await svc.exited, 0);
    const out = svc.out();
    assert.ok(out.indexOf("last-registered-closed") < out.indexOf("first-registered-closed"), out);
  });

  it("exits 0 within the drain bound when a step hangs", async () => {
    const svc = start("hang");
    await svc.ready;
    svc.child.kill("SIGINT");
    assert.equal(await svc.exited, 0);
  });

  it("prints one line naming every config problem and exits 1", async () => {
    const svc = start("bad-config");
    assert.equal(await svc.exited, 1);
    const lines = svc.err().trim().split("\n");
    assert.equal(lines.length, 1, svc.err());
    assert.match(lines[0]!, /^fixture: invalid configuration: .*FIXTURE_PORT.*FIXTURE_SECRET/);
  });
});
