/**
 * natter run in process against the real services: accounts, login and takeover, tokens,
 * delivery and acks, dedup of a resent message, reconnecting, the shell.
 */
import assert from "node:assert/strict";
import { cp, readFile, stat } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { once } from "node:events";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { run, until, type Target } from "../../clients/cli/src/testing/harness.ts";
import { answerHello } from "../../clients/cli/src/testing/hello-stub.ts";
import { CliWorld, PASSWORD as PW } from "../support/cli-world.ts";

describe("natter, run in process against the real services", () => {
  let world: CliWorld;
  let edge: Target;

  before(async () => {
    world = await CliWorld.start();
    edge = world.target;
  });
  after(async () => {
    await world?.stop();
  });

  const home = (name: string): string => world.path(name);
  const registered = (name: string): Promise<string> => world.registered(name);

  it("registers, sends and receives end to end, in human output", async () => {
    const alice = await registered("alice");
    const bob = await registered("bob");
    const sent = await run(edge, ["--home", alice, "send", "bob", "hello", "there"]);
    assert.deepEqual([sent.code, sent.out, sent.err], [0, "", ""]);
    const got = await run(edge, ["--home", bob, "receive", "--wait", "0.2"]);
    assert.equal(got.code, 0, got.err);
    assert.match(got.out, /^\[\d\d:\d\d\] alice: hello there\n$/);
    // Acked: nothing comes again.
    const again = await run(edge, ["--home", bob, "receive", "--wait", "0.1"]);
    assert.deepEqual([again.code, again.out], [0, ""]);
    assert.equal(await world.probe.waitingAfterAcks("bob"), 0);
  });

  it("speaks JSON lines with --json", async () => {
    const alice = await registered("amy");
    const bob = await registered("ben");
    const sent = await run(edge, ["--home", alice, "--json", "send", "ben", "hi", "ben"]);
    const s = JSON.parse(sent.out);
    assert.deepEqual(Object.keys(s), ["id", "to", "status"]);
    assert.equal(s.to, "ben");
    assert.equal(s.status, "accepted");
    await run(edge, ["--home", alice, "--json", "send", "ben", "second"]);
    const got = await run(edge, ["--home", bob, "receive", "--json", "--wait", "0.2"]);
    const lines = got.stdout.map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => [l.from, l.type, l.text]), [["amy", "text", "hi ben"], ["amy", "text", "second"]]);
    assert.equal(lines[0].id, s.id);
    assert.equal(new Date(lines[0].sentAt).toISOString(), lines[0].sentAt);
  });

  it("stores the home with owner-only modes", async () => {
    const h = await registered("cleo");
    assert.equal((await stat(h)).mode & 0o777, 0o700);
    for (const f of ["account.json", "session.json"]) assert.equal((await stat(join(h, f))).mode & 0o777, 0o600);
    const files = (await readFile(join(h, "session.json"), "utf8")) + (await readFile(join(h, "account.json"), "utf8"));
    assert.doesNotMatch(files, new RegExp(PW));
  });

  it("restores the keys from the backup when logging in on a new home", async () => {
    const alice = await registered("dora");
    await registered("eric");
    await run(edge, ["--home", alice, "send", "eric", "waiting for you"]);
    const fresh = home("eric-laptop");
    const login = await run(edge, ["--home", fresh, "--json", "login", "eric", "--password-stdin"], { stdin: PW });
    assert.equal(login.code, 0, login.err);
    assert.equal(JSON.parse(login.out).restored, true);
    assert.equal(await world.probe.prekeyCount("eric"), 100);
    const got = await run(edge, ["--home", fresh, "receive", "--wait", "0.2"]);
    assert.match(got.out, /dora: waiting for you/);
  });

  it("fails a wrong password with exit 2 and the catalogue's words", async () => {
    await registered("fred");
    const r = await run(edge, ["--home", home("x"), "login", "fred", "--password-stdin"], { stdin: "not the password\n" });
    assert.deepEqual([r.code, r.err], [2, "natter: wrong username or password\n"]);
    const j = await run(edge, ["--home", home("x"), "--json", "login", "fred", "--password-stdin"], { stdin: "nope nope nope" });
    assert.deepEqual(JSON.parse(j.err), { error: "BAD_CREDENTIALS", message: "wrong username or password" });
  });

  it("refuses a second login while connected elsewhere, unless told to take over", async () => {
    const h = await registered("gail");
    const listener = await world.listening(h);
    const other = home("gail-2");
    const refused = await run(edge, ["--home", other, "login", "gail", "--password-stdin"], { stdin: PW });
    assert.equal(refused.code, 1);
    assert.match(refused.err, /connected elsewhere/);
    const taken = await run(edge, ["--home", other, "login", "gail", "--password-stdin", "--takeover"], { stdin: PW });
    assert.equal(taken.code, 0, taken.err);
    assert.equal(await listener.code, 2);
    assert.match(listener.stderr.text, /log in again/);
  });

  it("tries the other edges and follows a redirect", async () => {
    const h = await registered("hugo");
    // The real edge redirects only when another is clearly less loaded: a scripted edge
    // that redirects every hello to it stands in for the busy one.
    const redirecting = createServer((socket) => answerHello(socket, { t: "redirect", to: world.servers.address() }));
    const port = await listenLocally(redirecting);
    const down = await refusingAddress();
    try {
      const r = await run(edge, ["--home", h, "--server", `${down},127.0.0.1:${port}`, "verify", "hugo"]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /safety number with hugo/);
    } finally {
      redirecting.close();
    }
  });

  it("sends a login-again failure (exit 2) when the session has ended", async () => {
    const h = await registered("kim");
    // The same session logged out from a copy of the home: the server ends it.
    const copy = home("kim-copy");
    await cp(h, copy, { recursive: true });
    assert.equal((await run(edge, ["--home", copy, "logout"])).code, 0);
    const r = await run(edge, ["--home", h, "send", "kim2", "x"]);
    assert.deepEqual([r.code, r.err], [2, "natter: the session has ended: log in again\n"]);
  });

  it("refuses an unknown recipient with exit 1", async () => {
    const h = await registered("lena");
    const r = await run(edge, ["--home", h, "send", "nosuchuser", "x"]);
    assert.deepEqual([r.code, r.err], [1, "natter: no such user\n"]);
  });

  it("resends with the same id after losing the connection, and the message is stored once", async () => {
    const alice = await registered("mona");
    const bob = await registered("nils");
    // The edge stores the send; its answer is lost with the connection.
    world.proxy.hangUpAfter((f) => f.t === "send");
    const r = await run(world.recorded, ["--home", alice, "--json", "send", "nils", "exactly once"]);
    assert.equal(r.code, 0, r.err);
    const id = JSON.parse(r.out).id;
    const sends = world.proxy.sent.filter((f) => f.t === "send" && f.msg.id === id);
    assert.equal(sends.length, 2);
    const got = await run(edge, ["--home", bob, "--json", "receive", "--wait", "0.2"]);
    assert.deepEqual(got.stdout.map((l) => JSON.parse(l).text), ["exactly once"]);
  });

  it("listens, reconnects when the edge goes away, and carries on", async () => {
    const alice = await registered("olga");
    const bob = await registered("pete");
    const listener = await world.listening(bob);
    const online = (times: number) => () => listener.stderr.text.split("back online").length > times;
    await run(edge, ["--home", alice, "send", "pete", "before"]);
    await until(() => listener.stdout.text.includes("before"), 5_000, "first message");
    world.dropConnections();
    await until(() => listener.stderr.text.includes("reconnecting"), 5_000, "reconnecting");
    await until(online(1), 10_000, "listening again");
    await run(edge, ["--home", alice, "send", "pete", "after"]);
    await until(() => listener.stdout.text.includes("after"), 5_000, "second message");
    world.sayShutdown();
    await until(online(2), 10_000, "listening after a drain");
    await run(edge, ["--home", alice, "send", "pete", "drained"]);
    await until(() => listener.stdout.text.includes("drained"), 5_000, "third message");
    listener.interrupt.abort();
    assert.equal(await listener.code, 0);
    assert.equal(listener.stdout.lines().length, 3);
    assert.match(listener.stderr.text, /back online/);
  });

  it("says in its hello that it is coming back when it reconnects, so the edge keeps it; not on its first connection", async () => {
    const home = await registered("vera");
    const from = world.proxy.sent.length;
    const hellos = () => world.proxy.sent.slice(from).filter((f) => f.t === "hello");
    const listener = await world.listening(home, ["--server", world.recorded.server]);
    assert.deepEqual(hellos().map((h) => h.back), [undefined]);
    world.dropConnections();
    await until(() => listener.stderr.text.includes("back online"), 10_000, "listening again");
    assert.equal(hellos().at(-1)?.back, true);
    listener.interrupt.abort();
    assert.equal(await listener.code, 0);
  });

  it("lets a command share a home with a running listener", async () => {
    const alice = await registered("quin");
    const bob = await registered("rosa");
    const listener = await world.listening(bob);
    const busy = await run(edge, ["--home", bob, "receive", "--wait", "0.1"]);
    assert.equal(busy.code, 1);
    assert.match(busy.err, /already receiving/);
    await Promise.all([
      run(edge, ["--home", alice, "send", "rosa", "one"]),
      run(edge, ["--home", bob, "send", "quin", "reply from another process"]),
    ]);
    await until(() => listener.stdout.text.includes("one"), 5_000, "message");
    const got = await run(edge, ["--home", alice, "receive", "--wait", "0.2"]);
    assert.match(got.out, /rosa: reply from another process/);
    listener.interrupt.abort();
    assert.equal(await listener.code, 0);
  });

  it("runs the interactive shell from piped commands, with the seeds' aliases", async () => {
    const alice = await registered("sara");
    const bob = await registered("theo");
    const shell = world.start(["--home", alice]);
    shell.stdin.write("send theo hello from the shell\n");
    shell.stdin.write("SEND theo  two  spaces\n");
    shell.stdin.write("message theo third\n");
    shell.stdin.write("frobnicate\n");
    await until(() => shell.stdout.text.split("sent").length === 4, 5_000, "three sends");
    await run(edge, ["--home", bob, "send", "sara", "back to you"]);
    await until(() => shell.stdout.text.includes("theo: back to you"), 5_000, "live delivery");
    shell.stdin.end("quit\n");
    assert.equal(await shell.code, 0);
    assert.match(shell.stderr.text, /unknown command frobnicate/);
    const got = await run(edge, ["--home", bob, "--json", "receive", "--wait", "0.2"]);
    const lines = got.stdout.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines.filter((l) => l.type === "text").map((l) => l.text), ["hello from the shell", "two  spaces", "third"]);
    // sara's shell showed "back to you": theo hears that it was delivered and read.
    assert.deepEqual(lines.filter((l) => l.type === "receipt").map((l) => [l.receipt, l.from]), [["delivered", "sara"], ["read", "sara"]]);
  });

  it("logs out: the server ends the session and the home forgets the tokens", async () => {
    const h = await registered("uma");
    const r = await run(edge, ["--home", h, "logout"]);
    assert.deepEqual([r.code, r.out], [0, "logged out\n"]);
    await assert.rejects(stat(join(h, "session.json")));
    assert.equal((await run(edge, ["--home", h, "send", "uma", "x"])).code, 2);
  });

  it("refuses a username that is taken, with the catalogue's words", async () => {
    await registered("walt");
    const taken = await run(edge, ["--home", home("x"), "register", "walt", "--password-stdin"], { stdin: PW });
    assert.deepEqual([taken.code, taken.err], [1, "natter: that username is taken\n"]);
  });
});

describe("natter against an auth whose tokens last a second", () => {
  let world: CliWorld;

  before(async () => {
    world = await CliWorld.start({ AUTH_TOKEN_TTL: "1" });
  });
  after(async () => {
    await world?.stop();
  });

  it("refreshes an expired token and keeps the rotated pair", async () => {
    const h = await world.registered("iris");
    await world.registered("jack");
    const before = JSON.parse(await readFile(join(h, "session.json"), "utf8"));
    // expiresAt is in seconds; the edges take a token as expired from that second on.
    await until(() => Date.now() >= before.expiresAt * 1000, 3_000, "the token to expire");
    const r = await run(world.target, ["--home", h, "send", "jack", "still here"]);
    assert.equal(r.code, 0, r.err);
    const after = JSON.parse(await readFile(join(h, "session.json"), "utf8"));
    assert.notEqual(after.refresh, before.refresh);
    assert.equal((await run(world.target, ["--home", h, "send", "jack", "again"])).code, 0);
  });
});

/** Starts `server` on a free local port; answers the port. */
async function listenLocally(server: Server): Promise<number> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const at = server.address();
  if (typeof at !== "object" || at === null) throw new Error("not listening on a port");
  return at.port;
}

/** host:port of a local port nothing listens on. */
async function refusingAddress(): Promise<string> {
  const server = createServer();
  const port = await listenLocally(server);
  server.close();
  await once(server, "close");
  return `127.0.0.1:${port}`;
}
