/**
 * `natter daemon`: JSON-RPC 2.0 on the home's Unix socket and on stdio, run in process
 * against the real services. Every method is called with two (and three) real users;
 * malformed input gets JSON-RPC errors while the daemon keeps serving; what arrives comes
 * as notifications; one-shot commands of the home go through it; the README's bot runs.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { access, readFile, stat, writeFile } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DeviceIdentity } from "@natter/crypto";
import { nowhere, run, testPrimitives, until, type Run } from "../../clients/cli/src/testing/harness.ts";
import { relayRequest } from "../../clients/cli/src/daemon/edge-relay.ts";
import { CliWorld } from "../support/cli-world.ts";

type Line = Record<string, unknown>;
type Message = { id?: unknown; method?: string; params?: Line; result?: unknown; error?: { code: number; message: string; data?: { code: string } } };

/** A caller of the daemon on a pair of streams: requests by id, everything it read kept in order. */
class Caller {
  readonly read: Message[] = [];
  private buffer = "";
  private nextId = 1;

  constructor(private readonly output: NodeJS.WritableStream, input: NodeJS.ReadableStream) {
    input.on("data", (chunk: Buffer | string) => {
      this.buffer += chunk.toString();
      let nl: number;
      while ((nl = this.buffer.indexOf("\n")) !== -1) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        this.read.push(JSON.parse(line) as Message);
      }
    });
  }

  static async overSocket(path: string): Promise<Caller & { socket: Socket }> {
    const socket = connect(path);
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    return Object.assign(new Caller(socket, socket), { socket });
  }

  /** Writes a raw line; answers the next message read with this id. */
  async raw(line: string, id: unknown = null, ms = 20_000): Promise<Message> {
    const from = this.read.length;
    this.output.write(`${line}\n`);
    let found: Message | undefined;
    await until(() => (found = this.read.slice(from).find((m) => "id" in m && m.id === id && m.method === undefined)) !== undefined, ms, `an answer to ${line.slice(0, 60)}`);
    return found!;
  }

  request(method: string, params?: unknown): Promise<Message> {
    const id = this.nextId++;
    return this.raw(JSON.stringify({ jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) }), id);
  }

  /** The result of a request that must succeed. */
  async call(method: string, params?: unknown): Promise<Line> {
    const m = await this.request(method, params);
    assert.equal(m.error, undefined, `${method}: ${JSON.stringify(m.error)}`);
    return m.result as Line;
  }

  notifications(method: string): Line[] {
    return this.read.filter((m) => m.method === method && m.id === undefined).map((m) => m.params!);
  }
}

describe("natter daemon, in process against the real services", () => {
  let world: CliWorld;
  let ada: string;
  let bob: string;
  let daemon: Run;
  let caller: Caller & { socket: Socket };

  const json = async (home: string, argv: string[]): Promise<Line[]> => {
    const r = await run(world.target, ["--home", home, "--json", ...argv]);
    assert.equal(r.code, 0, r.err);
    return r.stdout.map((l) => JSON.parse(l) as Line);
  };
  const startDaemon = async (home: string, argv: string[] = []): Promise<Run> => {
    const r = world.start(["--home", home, "daemon", ...argv]);
    let exited = false;
    void r.code.then(() => (exited = true));
    await until(() => exited || /JSON-RPC on/.test(r.stderr.text), 15_000, "the daemon to serve");
    assert.ok(!exited, `the daemon ended: ${r.stderr.text}`);
    return r;
  };

  before(async () => {
    world = await CliWorld.start();
    ada = await world.registered("ada");
    bob = await world.registered("bob");
    daemon = await startDaemon(ada);
    await world.probe.presenceSettled();
    caller = await Caller.overSocket(join(ada, "daemon.sock"));
  });
  after(async () => {
    caller?.socket.destroy();
    await world?.stop();
  });

  it("serves on a socket only its account can use, and a second daemon of the home refuses", { timeout: 30_000 }, async () => {
    assert.equal((await stat(join(ada, "daemon.sock"))).mode & 0o777, 0o600);
    const second = await run(world.target, ["--home", ada, "daemon"]);
    assert.equal(second.code, 1);
    assert.match(second.err, /a natter daemon already runs on this home/);
    assert.deepEqual((await caller.call("who", {})).users instanceof Array, true, "the first one still serves");
  });

  it("answers malformed requests with JSON-RPC errors and keeps serving", { timeout: 30_000 }, async () => {
    const parse = await caller.raw("{this is not json");
    assert.equal(parse.error?.code, -32700);
    const batch = await caller.raw('[{"jsonrpc":"2.0","id":1,"method":"who"}]');
    assert.deepEqual([batch.error?.code, batch.error?.message], [-32600, "batch requests are not supported: send one request a line"]);
    const shape = await caller.raw('{"jsonrpc":"2.0","id":"x","params":{}}', "x");
    assert.equal(shape.error?.code, -32600);
    const unknown = await caller.request("group.explode", {});
    assert.deepEqual([unknown.error?.code, unknown.error?.message], [-32601, "no such method: group.explode (see docs/JSON-RPC.md)"]);
    const bad = await caller.request("send", { to: "bob" });
    assert.equal(bad.error?.code, -32602);
    assert.match(bad.error!.message, /text/);
    const positional = await caller.request("send", ["bob", "hi"]);
    assert.equal(positional.error?.code, -32602);
    const long = await caller.raw(`{"jsonrpc":"2.0","id":99,"method":"send","params":{"to":"bob","text":"${"x".repeat(1024 * 1024)}"}}`);
    assert.deepEqual([long.error?.code, long.id], [-32600, null]);
    assert.match(long.error!.message, /at most 1048576 bytes/);
    // The relay for natter's own one-shot commands takes only what they send over a link.
    const receiving = await caller.request("natter.edge", relayRequest({ t: "receive" }, "ok"));
    assert.deepEqual([receiving.error?.code, receiving.error?.message], [-32602, "a receive request is not relayed by the daemon"]);
    const garbage = await caller.request("natter.edge", { frame: "AAAA", expect: "ok" });
    assert.equal(garbage.error?.code, -32602);
    // A natter error keeps its code in data.
    const nobody = await caller.request("send", { to: "nobody", text: "hello?" });
    assert.deepEqual([nobody.error?.code, nobody.error?.data], [-32000, { code: "NO_SUCH_USER" }]);
    // A notification from the caller is run and never answered; the next request is.
    const before = caller.read.length;
    caller.socket.write('{"jsonrpc":"2.0","method":"who"}\n');
    const who = await caller.call("who", {});
    assert.ok(Array.isArray(who.users));
    assert.equal(caller.read.length, before + 1);
    assert.equal(daemon.stderr.text.includes("hello?"), false, "no message text on the daemon's output");
  });

  it("sends, and what comes in arrives as notifications", { timeout: 60_000 }, async () => {
    const sent = await caller.call("send", { to: "bob", text: "hello bob from a bot" });
    assert.deepEqual([sent.to, sent.status, typeof sent.id], ["bob", "accepted", "string"]);
    const got = await json(bob, ["receive", "--wait", "1"]);
    assert.ok(got.some((l) => l.text === "hello bob from a bot" && l.from === "ada"));
    // bob's receive sent delivered and read receipts: they come as notifications, as listen --json shows them.
    await until(() => caller.notifications("receipt").length >= 2, 15_000, "the receipts");
    assert.deepEqual(caller.notifications("receipt").map((r) => [r.type, r.receipt, r.from, r.conversation, r.of]), [
      ["receipt", "delivered", "bob", "bob", [sent.id]],
      ["receipt", "read", "bob", "bob", [sent.id]],
    ]);

    await json(bob, ["send", "ada", "hi ada, bob here"]);
    await until(() => caller.notifications("message").some((m) => m.text === "hi ada, bob here"), 15_000, "bob's message");
    const [message] = caller.notifications("message");
    assert.deepEqual(Object.keys(message!).sort(), ["from", "id", "sentAt", "text", "type"]);
    assert.equal(message!.from, "bob");
  });

  it("answers every other method against the real services", { timeout: 120_000 }, async () => {
    const cyd = await world.registered("cyd");
    await world.listening(cyd);

    const who = await caller.call("who", { lastHour: true });
    assert.ok((who.users as Line[]).some((u) => u.user === "cyd" && u.online === true));

    await json(bob, ["group", "create", "crew", "ada"]);
    await until(() => caller.notifications("event").some((e) => e.group === "crew"), 15_000, "the group event");
    assert.deepEqual((await caller.call("group.list", {})).groups, [{ name: "crew", members: 2 }]);
    assert.deepEqual((await caller.call("group.members", { group: "crew" })).members, [{ name: "bob", role: "admin" }, { name: "ada", role: "member" }]);
    const groupSent = await caller.call("group.send", { group: "crew", text: "crew, hello" });
    assert.deepEqual([groupSent.group, groupSent.status], ["crew", "accepted"]);

    const path = await world.fileToSend("notes.txt", new TextEncoder().encode("the notes"));
    const file = await caller.call("file.send", { to: "bob", path, name: "notes.txt" });
    assert.deepEqual(file.file, { name: "notes.txt", size: 9, mime: "text/plain" });
    const toGroup = await caller.call("file.send", { group: "crew", path });
    assert.equal(toGroup.group, "crew");
    const both = await caller.request("file.send", { to: "bob", group: "crew", path });
    assert.equal(both.error?.code, -32602);
    const got = await json(bob, ["receive", "--wait", "1"]);
    assert.ok(got.some((l) => l.text === "crew, hello" && l.group === "crew"));
    assert.equal(got.filter((l) => l.type === "file").length, 2);

    const history = await caller.call("history", { with: "bob", limit: 10 });
    assert.deepEqual((history.messages as Line[]).map((m) => [m.direction, m.type === "text" ? m.text : (m.file as Line).name]), [
      ["out", "hello bob from a bot"], ["in", "hi ada, bob here"], ["out", "notes.txt"],
    ]);
    assert.deepEqual(((await caller.call("history", { with: "#crew" })).messages as Line[]).map((m) => m.conversation), ["#crew", "#crew"]);
    const found = await caller.call("search", { words: "bot hello", with: "bob" });
    assert.deepEqual((found.messages as Line[]).map((m) => m.text), ["hello bob from a bot"]);
    const badBefore = await caller.request("history", { with: "bob", before: "yesterday" });
    assert.deepEqual([badBefore.error?.code, badBefore.error?.data], [-32602, { code: "USAGE" }]);

    const set = await caller.call("profile.set", { name: "Ada the bot", status: "beep" });
    assert.deepEqual([set.user, set.name, set.status, set.saved], ["ada", "Ada the bot", "beep", true]);
    assert.deepEqual(await caller.call("profile.get", {}), { user: "ada", name: "Ada the bot", status: "beep", avatar: null });
    const bobs = await caller.call("profile.get", { user: "bob" });
    assert.deepEqual(bobs, { user: "bob", name: null, status: null, avatar: null });

    const safety = await caller.call("verify", { user: "bob" });
    assert.deepEqual([safety.user, safety.state, typeof safety.safetyNumber], ["bob", "unverified", "string"]);
    const marked = await caller.call("verify", { user: "bob", markVerified: true });
    assert.deepEqual([marked.state, marked.safetyNumber], ["verified", safety.safetyNumber]);
    const trusted = await caller.call("trust", { user: "bob" });
    assert.deepEqual([trusted.accepted, trusted.safetyNumber], [false, safety.safetyNumber]);

    assert.deepEqual(await caller.call("broadcast", { text: "to everyone online" }), { status: "broadcast", recipients: 1 });
    assert.deepEqual(await caller.call("block", { user: "cyd" }), { user: "cyd", status: "blocked" });
    assert.deepEqual(await caller.call("unblock", { user: "cyd" }), { user: "cyd", status: "unblocked" });
    assert.deepEqual(await caller.call("history.forget", { with: "cyd" }), { conversation: "cyd", status: "forgotten", messages: 1 });
  });

  it("carries one-shot commands of its home, which then open no connection of their own", { timeout: 60_000 }, async () => {
    // `nowhere` refuses every dial: only the daemon's connection can carry these.
    const viaDaemon = async (argv: string[]): Promise<Line[]> => {
      const r = await run(nowhere, ["--home", ada, "--json", ...argv]);
      assert.equal(r.code, 0, r.err);
      return r.stdout.map((l) => JSON.parse(l) as Line);
    };
    const [sent] = await viaDaemon(["send", "bob", "one-shot through the daemon"]);
    assert.deepEqual([sent!.to, sent!.status], ["bob", "accepted"]);
    assert.ok((await viaDaemon(["who", "--last-hour"])).every((u) => typeof u.user === "string"));
    assert.deepEqual(await viaDaemon(["group", "list"]), [{ name: "crew", members: 2 }]);
    assert.deepEqual((await viaDaemon(["history", "bob", "--limit", "1"])).map((m) => m.text), ["one-shot through the daemon"]);
    const refused = await run(nowhere, ["--home", ada, "--json", "send", "nobody", "hello?"]);
    assert.deepEqual([refused.code, JSON.parse(refused.err.trim()).error], [1, "NO_SUCH_USER"], "the edge's refusal comes back as it would directly");
    // A file moves on a connection of its own, opened only for it.
    const path = await world.fileToSend("one-shot.txt", new TextEncoder().encode("a file"));
    const [file] = await json(ada, ["send", "bob", "--file", path]);
    assert.equal(file!.status, "accepted");
    const got = await json(bob, ["receive", "--wait", "1"]);
    assert.ok(got.some((l) => l.text === "one-shot through the daemon"));
    assert.ok(got.some((l) => l.type === "file" && (l.file as Line).name === "one-shot.txt"));
  });

  it("runs the README's ten-line bot", { timeout: 60_000 }, async () => {
    const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
    const bot = /```js\n(\/\/ echo-bot\.mjs[^]*?)```/.exec(readme)?.[1];
    assert.ok(bot, "the README shows the bot");
    assert.ok(bot.trim().split("\n").length <= 10, "in ten lines");
    const file = await world.fileToSend("echo-bot.mjs", new TextEncoder().encode(bot));
    const child = spawn(process.execPath, [file], { env: { ...process.env, NATTER_HOME: ada }, stdio: ["ignore", "ignore", "inherit"] });
    try {
      let answered = false;
      // The bot may not be connected yet when the first one is sent: send until it answers.
      await until(async () => {
        await json(bob, ["send", "ada", "stressed"]);
        answered ||= (await json(bob, ["receive", "--wait", "2"])).some((l) => l.from === "ada" && l.text === "desserts");
        return answered;
      }, 40_000, "the bot's answer");
    } finally {
      child.kill();
    }
  });

  it("tells of a changed identity key, refuses to send until trust, and trusts", { timeout: 60_000 }, async () => {
    const fay = await world.registered("fay");
    const gus = await world.registered("gus");
    await json(gus, ["send", "fay", "first contact"]);
    const r = await startDaemon(fay);
    const fays = await Caller.overSocket(join(fay, "daemon.sock"));
    try {
      await until(() => fays.notifications("message").some((m) => m.text === "first contact"), 15_000, "the first message");
      // Pin another key for gus, as if fay had first met gus under a key the server no longer gives out.
      const path = join(fay, "contacts.json");
      const file = JSON.parse(await readFile(path, "utf8")) as { contacts: Record<string, { username: string; identityKey: string }> };
      const entry = Object.values(file.contacts).find((c) => c.username === "gus")!;
      entry.identityKey = (await DeviceIdentity.generate(testPrimitives(), { oneTimePrekeys: 0 })).identityKey;
      await writeFile(path, JSON.stringify(file));

      await json(gus, ["send", "fay", "still me"]);
      await until(() => fays.notifications("message").some((m) => m.text === "still me"), 15_000, "the message from the new key");
      const flagged = fays.notifications("message").find((m) => m.text === "still me")!;
      assert.deepEqual([flagged.from, flagged.warning, typeof flagged.fromId], ["gus", "IDENTITY_CHANGED", "string"]);
      assert.ok(fays.notifications("warning").some((w) => w.warning === "IDENTITY_CHANGED" && w.user === "gus"), "the safety event came as a warning");
      const refused = await fays.request("send", { to: "gus", text: "are you there?" });
      assert.deepEqual([refused.error?.code, refused.error?.data], [-32000, { code: "IDENTITY_CHANGED" }]);
      const view = await fays.call("verify", { user: "gus" });
      assert.equal(view.state, "changed");
      assert.notEqual(view.newSafetyNumber, view.safetyNumber);
      const trusted = await fays.call("trust", { user: "gus" });
      assert.deepEqual([trusted.accepted, trusted.previousSafetyNumber, trusted.safetyNumber], [true, view.safetyNumber, view.newSafetyNumber]);
      assert.equal((await fays.call("send", { to: "gus", text: "it is you" })).status, "accepted");
    } finally {
      fays.socket.destroy();
      r.interrupt.abort();
      assert.equal(await r.code, 0, r.stderr.text);
    }
  });

  it("speaks on stdio too, one message a line, and ends cleanly when stdin ends", { timeout: 60_000 }, async () => {
    const dee = await world.registered("dee");
    const r = await startDaemon(dee, ["--stdio"]);
    const stdio = new Caller(r.stdin, r.stdout);
    assert.ok(Array.isArray((await stdio.call("who", {})).users));
    assert.equal((await stdio.raw("nonsense")).error?.code, -32700);
    const sent = await stdio.call("send", { to: "bob", text: "over stdio" });
    assert.equal(sent.status, "accepted");
    r.stdin.end();
    assert.equal(await r.code, 0, r.stderr.text);
    await assert.rejects(access(join(dee, "daemon.sock")), "the socket is removed on a clean exit");
  });

  it("replaces the socket a crashed daemon left behind, and removes its own on Ctrl-C", { timeout: 60_000 }, async () => {
    const eli = await world.registered("eli");
    const sock = join(eli, "daemon.sock");
    // A process that dies holding a listening socket leaves the file behind, as a crashed daemon would.
    const crashed = spawn(process.execPath, ["-e", `require("node:net").createServer().listen(${JSON.stringify(sock)}, () => process.kill(process.pid, "SIGKILL"))`]);
    await new Promise((resolve) => crashed.once("exit", resolve));
    assert.ok((await stat(sock)).isSocket(), "a stale socket is there");
    assert.equal((await run(world.target, ["--home", eli, "who"])).code, 0, "a one-shot command connects on its own past a stale socket");

    const r = await startDaemon(eli);
    const fresh = await Caller.overSocket(sock);
    assert.ok(Array.isArray((await fresh.call("who", {})).users));
    r.interrupt.abort();
    assert.equal(await r.code, 0, r.stderr.text);
    fresh.socket.destroy();
    await assert.rejects(access(sock));
    assert.equal((await run(nowhere, ["--home", eli, "who"])).code, 69, "with the daemon gone, a one-shot command connects on its own again");
  });
});
