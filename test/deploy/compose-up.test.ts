/**
 * deploy/compose.yaml for real: the whole stack in containers, from the images
 * deploy/local/build-images.sh builds (natter's rebuilt first from this tree), started by
 * docker-compose with deploy/local/compose.yaml over it (every container on the host network). Every health check passes; the README's
 * walkthrough runs with real `natter` processes over TLS, as compose serves it (`tls://`
 * and `--ca` the CA that make-jwt-keys.mjs made; two users, one to one, a group, a file,
 * offline delivery); NATS and Postgres are stopped and started again and nothing is lost;
 * then everything is torn down, volumes too, whether the tests passed or not.
 *
 * Skips, saying why, where no container engine runs or the local images are not built.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Listener, natter, newHome } from "../support/cli.ts";
import { LocalStack, rebuildImages, whyNoStack } from "./local-stack.ts";

const PASSWORD = "correct horse battery";
const SERVICES = ["nats", "postgres", "auth", "group", "presence", "edge-1", "edge-2"] as const;

const whyNot = await whyNoStack();
if (whyNot) console.log(`# compose up is not run: ${whyNot}`);

describe("deploy/compose.yaml, up for real", { skip: whyNot ?? false }, () => {
  let scratch = "";
  let stack: LocalStack;
  let alice = "";
  let bob = "";

  before(async () => {
    await rebuildImages();
    scratch = await mkdtemp(join(tmpdir(), "natter-compose-up-"));
    stack = await LocalStack.prepare(scratch);
    await stack.compose(["up", "--detach", "--no-build"], 300_000);
  });

  after(async () => {
    try {
      await stack?.down();
    } finally {
      if (scratch) await rm(scratch, { recursive: true, force: true });
    }
  });

  /** Every service running and healthy, or a failure that shows their logs. */
  async function assertHealthy(): Promise<void> {
    const states = await stack.healthy(SERVICES);
    const unwell = SERVICES.filter((s) => !states.some((c) => c.service === s && c.status === "running" && c.health === "healthy"));
    if (unwell.length > 0) assert.fail(`not healthy: ${unwell.join(", ")} (${JSON.stringify(states)})\n${await stack.logs()}`);
  }

  async function ok(home: string, server: string, args: string[], stdin?: string) {
    const result = await natter(home, server, ["--ca", stack.ca, ...args], { stdin, timeoutMs: 120_000 });
    assert.equal(result.code, 0, `natter ${args.join(" ")}: ${result.stderr}`);
    return result;
  }

  const texts = (lines: Array<Record<string, unknown>>) => lines.filter((l) => l["type"] === "text").map((l) => l["text"]);

  it("starts every service, each passing its health check", async () => {
    await assertHealthy();
  });

  it("registers alice on one edge and bob on the other", async () => {
    const [first, second] = stack.edges;
    alice = newHome();
    bob = newHome();
    const registered = [
      await ok(alice, first, ["register", "alice", "--password-stdin"], `${PASSWORD}\n`),
      await ok(bob, second, ["register", "bob", "--password-stdin"], `${PASSWORD}\n`),
    ];
    assert.deepEqual(registered.map((r) => r.json[0]?.["status"]), ["registered", "registered"]);
  });

  it("carries a message, a group's message and a file to bob as he listens", async () => {
    const [first, second] = stack.edges;
    const downloads = join(scratch, "bob-downloads");
    const file = join(scratch, "slides.bin");
    const bytes = randomBytes(256 * 1024);
    await writeFile(file, bytes);
    const listener = new Listener(bob, second, ["--ca", stack.ca, "--download-dir", downloads]);
    try {
      await listener.waitFor((l) => l["status"] === "listening");
      await ok(alice, first, ["send", "bob", "hello bob"]);
      const [direct] = await listener.waitFor((l) => l["type"] === "text" && l["text"] === "hello bob");
      assert.equal(direct!["from"], "alice");

      const created = await ok(alice, first, ["group", "create", "team", "bob"]);
      assert.equal(created.json[0]?.["status"], "created");
      await ok(alice, first, ["group", "send", "team", "lunch at one?"]);
      const [grouped] = await listener.waitFor((l) => l["type"] === "text" && l["group"] === "team");
      assert.deepEqual([grouped!["from"], grouped!["text"]], ["alice", "lunch at one?"]);

      await ok(alice, first, ["send", "bob", "--file", file]);
      const [received] = await listener.waitFor((l) => l["type"] === "file", 1, 60_000);
      const info = received!["file"] as { name: string; path: string };
      assert.equal(info.name, "slides.bin");
      assert.equal(info.path, join(downloads, "slides.bin"));
      const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");
      assert.equal(sha256(await readFile(info.path)), sha256(bytes), "the file arrived byte-identical");
    } finally {
      await listener.stop();
    }
  });

  it("keeps messages for bob while he is offline and hands them over in order, once, on the other edge", async () => {
    const [first, second] = stack.edges;
    const sent = ["one while you were out", "two while you were out", "three while you were out"];
    for (const text of sent) await ok(alice, second, ["send", "bob", text]);
    assert.deepEqual(texts((await ok(bob, first, ["receive", "--wait", "2"])).json), sent);
    assert.deepEqual(texts((await ok(bob, second, ["receive", "--wait", "1"])).json), [], "nothing is shown twice");
  });

  it("loses no account and no waiting message when NATS and Postgres are stopped and started again", async () => {
    const [first, second] = stack.edges;
    const sent = ["sent before the restart", "also before the restart"];
    for (const text of sent) await ok(alice, first, ["send", "bob", text]);

    await stack.compose(["stop", "--timeout", "20", "nats", "postgres"]);
    const stopped = await stack.containers();
    for (const s of ["nats", "postgres"]) assert.equal(stopped.find((c) => c.service === s)?.status, "exited", `${s} stopped`);
    await stack.compose(["start", "nats", "postgres"]);
    await assertHealthy();

    assert.deepEqual(texts((await ok(bob, second, ["receive", "--wait", "2"])).json), sent, "every waiting message, in order");
    const elsewhere = newHome();
    const login = await ok(elsewhere, second, ["login", "alice", "--password-stdin"], `${PASSWORD}\n`);
    assert.equal(login.json[0]?.["status"], "logged in", "alice's account is still there");
  });
});
