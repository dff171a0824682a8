/**
 * End to end with three edges and real `natter` processes: who is online, blocking,
 * broadcast, profiles, spreading clients over edges, and failover under a stream.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { connect } from "@nats-io/transport-node";
import { call } from "@natter/kit";
import { names, PresenceApi } from "@natter/protocol";
import { startFixture, type Fixture } from "../support/stack-fixture.ts";
import { Listener, natter, newHome } from "../support/cli.ts";

const PASSWORD = "correct horse battery";
let fx: Fixture;
let all: string;

async function register(name: string, servers = all): Promise<string> {
  const home = newHome();
  const result = await natter(home, servers, ["register", name, "--password-stdin"], { stdin: `${PASSWORD}\n` });
  assert.equal(result.code, 0, `register ${name}: ${result.stderr}`);
  return home;
}

async function ok(home: string, args: string[], servers = all) {
  const result = await natter(home, servers, args);
  assert.equal(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
  return result;
}

async function who(home: string, lastHour = false) {
  const result = await ok(home, lastHour ? ["who", "--last-hour"] : ["who"]);
  return new Map(result.json.map((l) => [l["user"] as string, l]));
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  assert.fail(`timed out: ${what}`);
}

async function listening(listener: Listener, timeoutMs = 20_000): Promise<void> {
  await listener.waitFor((l) => l["status"] === "listening", 1, timeoutMs);
}

before(async () => {
  fx = await startFixture({ edges: 3, env: { PRESENCE_WARMUP_MS: "300", PRESENCE_EDGE_TIMEOUT_MS: "4000" } });
  all = fx.stack.servers;
});

after(async () => {
  await fx?.stop();
});

describe("presence, blocking, broadcast and profiles", () => {
  const homes: Record<string, string> = {};
  const listeners: Record<string, Listener> = {};

  before(async () => {
    for (const name of ["ann", "ben", "cat", "dan"]) homes[name] = await register(name);
  });

  after(async () => {
    await Promise.all(Object.values(listeners).map((l) => l.stop()));
  });

  it("shows who is online and who was within the hour, after logins, logouts and a killed edge", async () => {
    const [e0, e1] = fx.stack.edges.map((e) => e.address);
    listeners["ben"] = new Listener(homes["ben"]!, e0!);
    listeners["cat"] = new Listener(homes["cat"]!, e1!);
    await Promise.all([listening(listeners["ben"]), listening(listeners["cat"])]);
    await eventually(async () => {
      const now = await who(homes["ann"]!);
      return now.get("ben")?.["online"] === true && now.get("cat")?.["online"] === true && !now.has("ann");
    }, "ben and cat online for ann");

    await ok(homes["cat"]!, ["logout"]);
    assert.equal(await listeners["cat"].exited, 2, "the listener of a logged-out session ends");
    await eventually(async () => !(await who(homes["ann"]!)).has("cat"), "cat offline");
    const hour = await who(homes["ann"]!, true);
    assert.equal(hour.get("cat")?.["online"], false);
    assert.equal(typeof hour.get("cat")?.["lastSeen"], "string");

    fx.stack.edges[0]!.child.kill("SIGKILL");
    await fx.stack.edges[0]!.exited;
    await eventually(async () => !(await who(homes["ann"]!)).has("ben"), "ben offline once his edge is gone");
    await fx.stack.restartEdge(0);
    await eventually(async () => (await who(homes["ann"]!)).get("ben")?.["online"] === true, "ben back by himself");
  });

  it("stops delivery and hides presence both ways while blocked, and unblock restores it", async () => {
    listeners["dan"] = new Listener(homes["dan"]!, all);
    await listening(listeners["dan"]);
    await ok(homes["dan"]!, ["block", "ann"]);
    await ok(homes["ann"]!, ["send", "dan", "you should not see this"]);
    assert.ok(!(await who(homes["ann"]!)).has("dan"), "dan hidden from ann");
    assert.ok(!(await who(homes["dan"]!, true)).has("ann"), "ann hidden from dan");
    await ok(homes["dan"]!, ["unblock", "ann"]);
    await ok(homes["ann"]!, ["send", "dan", "hello again dan"]);
    await listeners["dan"].waitFor((l) => l["text"] === "hello again dan");
    assert.ok(!listeners["dan"].lines.some((l) => l["text"] === "you should not see this"));
    await eventually(async () => (await who(homes["ann"]!)).has("dan"), "dan visible again");
  });

  it("broadcasts to everyone online and nobody who blocked the sender", async () => {
    await ok(homes["ben"]!, ["block", "ann"]);
    await ok(homes["ann"]!, ["broadcast", "hello everyone"]);
    await listeners["dan"]!.waitFor((l) => l["text"] === "hello everyone");
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(!listeners["ben"]!.lines.some((l) => l["text"] === "hello everyone"), "ben blocked ann");
    await ok(homes["ben"]!, ["unblock", "ann"]);
  });

  it("round-trips a profile with an avatar to a contact", async () => {
    const avatar = join(homes["ann"]!, "me.png");
    writeFileSync(avatar, png());
    await ok(homes["ann"]!, ["profile", "set", "--name", "Ann Example", "--status", "out sailing", "--avatar", avatar]);
    await ok(homes["ann"]!, ["send", "dan", "my profile is new"]);
    await listeners["dan"]!.waitFor((l) => l["text"] === "my profile is new");
    const shown = await ok(homes["dan"]!, ["profile", "show", "ann"]);
    const profile = shown.json[0]!;
    assert.equal(profile["name"], "Ann Example");
    assert.equal(profile["status"], "out sailing");
    assert.deepEqual(readFileSync(profile["avatar"] as string), readFileSync(avatar));
  });
});

describe("many edges", () => {
  it("spreads twenty clients started against one address over the three edges", async () => {
    const first = fx.stack.edges[0]!.address;
    const homes = await Promise.all(Array.from({ length: 20 }, (_, i) => register(`spread${i}`, first)));
    const listeners = homes.map((home) => new Listener(home, first));
    try {
      // Twenty CLI processes starting at once take a while on two cores: this tests where they land, not how fast.
      await Promise.all(listeners.map((l) => listening(l, 90_000)));
      const nc = await connect({ servers: fx.services.natsUrl });
      try {
        await eventually(async () => {
          const { edges } = await call(nc, names(fx.services.namespace).presence("edges"), PresenceApi.edges, {});
          const counts = edges.map((e) => e.connections);
          return counts.length === 3 && counts.reduce((a, b) => a + b, 0) >= 20;
        }, "heartbeats count the listeners", 10_000);
        const { edges } = await call(nc, names(fx.services.namespace).presence("edges"), PresenceApi.edges, {});
        for (const edge of edges) {
          assert.ok(edge.connections >= 20 / 3 * 0.7 && edge.connections <= 20 / 3 * 1.3 + 1, `uneven: ${JSON.stringify(edges)}`);
        }
      } finally {
        await nc.close();
      }
    } finally {
      await Promise.all(listeners.map((l) => l.stop()));
    }
  });

  it("says there is no service and exits 69 when no edge answers", async () => {
    // A home that is not logged in is told so (exit 2) before anything connects: log in instead.
    const result = await natter(newHome(), "127.0.0.1:1,127.0.0.1:2", ["login", "ann", "--password-stdin"], { stdin: `${PASSWORD}\n` });
    assert.equal(result.code, 69);
    assert.match(result.stderr, /no services available|NO_SERVICE/i);
  });

  it("loses none of 1 000 messages and shows none twice when the receiver's edge dies mid-stream", async () => {
    const [e0, e1, e2] = fx.stack.edges.map((e) => e.address);
    const sender = await register("streamer", e2);
    const receiverHome = await register("sink", e0);
    const listener = new Listener(receiverHome, `${e0},${e1}`);
    await listening(listener);
    const lines = Array.from({ length: 1000 }, (_, i) => `send sink stream message ${i}`);
    const shell = spawn(process.execPath, [resolve(import.meta.dirname, "../../clients/cli/bin/natter.js"), "--home", sender, "--server", e2!, "--json"], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let accepted = 0;
    createInterface({ input: shell.stdout! }).on("line", (line) => { if (line.includes('"accepted"')) accepted++; });
    shell.stdin!.end(`${lines.join("\n")}\n`);
    await listener.waitFor((l) => l["type"] === "text", 300, 60_000);
    fx.stack.edges[0]!.child.kill("SIGKILL");
    await fx.stack.edges[0]!.exited;
    const exit = await new Promise((done) => shell.once("exit", done));
    assert.equal(exit, 0);
    assert.equal(accepted, 1000);
    await listener.waitFor((l) => l["type"] === "text", 1000, 90_000);
    await new Promise((r) => setTimeout(r, 1000));
    const texts = listener.lines.filter((l) => l["type"] === "text").map((l) => l["text"]);
    assert.equal(texts.length, 1000, "none shown twice");
    assert.equal(new Set(texts).size, 1000, "none lost");
    await listener.stop();
    await fx.stack.restartEdge(0);
  });
});

/** A real 1×1 PNG. */
function png(): Buffer {
  return Buffer.from(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000" +
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f5b1f40000000049454e44ae426082", "hex");
}
