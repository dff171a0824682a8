import assert from "node:assert/strict";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { FakeBackend } from "./testing/fake-edge.ts";
import { run, start, tempDir, until } from "./testing/harness.ts";

const PW = "correct horse battery";

describe("natter, run in process against a fake edge", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let backend: FakeBackend;
  let n = 0;
  const home = (name: string): string => join(dir.path, `${name}-${n++}`);

  before(async () => {
    dir = await tempDir();
    backend = new FakeBackend(["edge-a:7400", "edge-b:7400"]);
  });
  after(async () => {
    await dir[Symbol.asyncDispose]();
  });

  async function registered(name: string): Promise<string> {
    const h = home(name);
    const r = await run(backend, ["--home", h, "register", name, "--password-stdin"], { stdin: `${PW}\n` });
    assert.equal(r.code, 0, r.err);
    return h;
  }

  it("registers, sends and receives end to end, in human output", async () => {
    const alice = await registered("alice");
    const bob = await registered("bob");
    const sent = await run(backend, ["--home", alice, "send", "bob", "hello", "there"]);
    assert.deepEqual([sent.code, sent.out, sent.err], [0, "", ""]);
    const got = await run(backend, ["--home", bob, "receive", "--wait", "0.2"]);
    assert.equal(got.code, 0, got.err);
    assert.match(got.out, /^\[\d\d:\d\d\] alice: hello there\n$/);
    // Acked: nothing comes again.
    const again = await run(backend, ["--home", bob, "receive", "--wait", "0.1"]);
    assert.deepEqual([again.code, again.out], [0, ""]);
    assert.deepEqual(backend.inbox(backend.userId("bob")), []);
  });

  it("speaks JSON lines with --json", async () => {
    const alice = await registered("amy");
    const bob = await registered("ben");
    const sent = await run(backend, ["--home", alice, "--json", "send", "ben", "hi", "ben"]);
    const s = JSON.parse(sent.out);
    assert.deepEqual(Object.keys(s), ["id", "to", "status"]);
    assert.equal(s.to, "ben");
    assert.equal(s.status, "accepted");
    await run(backend, ["--home", alice, "--json", "send", "ben", "second"]);
    const got = await run(backend, ["--home", bob, "receive", "--json", "--wait", "0.2"]);
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
    await run(backend, ["--home", alice, "send", "eric", "waiting for you"]);
    const fresh = home("eric-laptop");
    const login = await run(backend, ["--home", fresh, "--json", "login", "eric", "--password-stdin"], { stdin: PW });
    assert.equal(login.code, 0, login.err);
    assert.equal(JSON.parse(login.out).restored, true);
    assert.equal(backend.prekeyCount(backend.userId("eric")), 100);
    const got = await run(backend, ["--home", fresh, "receive", "--wait", "0.2"]);
    assert.match(got.out, /dora: waiting for you/);
  });

  it("fails a wrong password with exit 2 and the catalogue's words", async () => {
    await registered("fred");
    const r = await run(backend, ["--home", home("x"), "login", "fred", "--password-stdin"], { stdin: "not the password\n" });
    assert.deepEqual([r.code, r.err], [2, "natter: wrong username or password\n"]);
    const j = await run(backend, ["--home", home("x"), "--json", "login", "fred", "--password-stdin"], { stdin: "nope nope nope" });
    assert.deepEqual(JSON.parse(j.err), { error: "BAD_CREDENTIALS", message: "wrong username or password" });
  });

  it("refuses a second login while connected elsewhere, unless told to take over", async () => {
    const h = await registered("gail");
    const listener = start(backend, ["--home", h, "listen"]);
    await until(() => [...backend.connections].some((c) => c.receiving && c.userId === backend.userId("gail")), 5_000, "listening");
    const other = home("gail-2");
    const refused = await run(backend, ["--home", other, "login", "gail", "--password-stdin"], { stdin: PW });
    assert.equal(refused.code, 1);
    assert.match(refused.err, /connected elsewhere/);
    const taken = await run(backend, ["--home", other, "login", "gail", "--password-stdin", "--takeover"], { stdin: PW });
    assert.equal(taken.code, 0, taken.err);
    assert.equal(await listener.code, 2);
    assert.match(listener.stderr.text, /log in again/);
  });

  it("says who is not logged in, and exits 2", async () => {
    const r = await run(backend, ["--home", home("nobody"), "send", "bob", "hi"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /^natter: not logged in/);
  });

  it("exits 69 with the seeds' words when no edge answers", async () => {
    const r = await run(backend, ["--home", home("x"), "login", "bob", "--password-stdin"], { stdin: PW, server: "down:1,down:2" });
    assert.deepEqual([r.code, r.err], [69, "Sorry, no services available\n"]);
  });

  it("tries the other edges and follows a redirect", async () => {
    const h = await registered("hugo");
    backend.redirects.set("edge-a:7400", "edge-b:7400");
    try {
      const r = await run(backend, ["--home", h, "--server", "down:1,edge-a:7400", "verify", "hugo"]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /safety number with hugo/);
    } finally {
      backend.redirects.clear();
    }
  });

  it("refreshes an expired token and keeps the rotated pair", async () => {
    const h = await registered("iris");
    await registered("jack");
    const before = JSON.parse(await readFile(join(h, "session.json"), "utf8"));
    backend.expireTokens(backend.userId("iris"));
    const r = await run(backend, ["--home", h, "send", "jack", "still here"]);
    assert.equal(r.code, 0, r.err);
    const after = JSON.parse(await readFile(join(h, "session.json"), "utf8"));
    assert.notEqual(after.refresh, before.refresh);
    assert.equal((await run(backend, ["--home", h, "send", "jack", "again"])).code, 0);
  });

  it("sends a login-again failure (exit 2) when the session has ended", async () => {
    const h = await registered("kim");
    backend.endSessions(backend.userId("kim"));
    const r = await run(backend, ["--home", h, "send", "kim2", "x"]);
    assert.deepEqual([r.code, r.err], [2, "natter: the session has ended: log in again\n"]);
  });

  it("refuses an unknown recipient with exit 1", async () => {
    const h = await registered("lena");
    const r = await run(backend, ["--home", h, "send", "nosuchuser", "x"]);
    assert.deepEqual([r.code, r.err], [1, "natter: no such user\n"]);
  });

  it("resends with the same id after losing the connection, and the message is stored once", async () => {
    const alice = await registered("mona");
    const bob = await registered("nils");
    backend.dropAfterStoring = 1;
    const r = await run(backend, ["--home", alice, "--json", "send", "nils", "exactly once"]);
    assert.equal(r.code, 0, r.err);
    const id = JSON.parse(r.out).id;
    const sends = backend.frames.filter((f) => f.t === "send" && f.msg.id === id);
    assert.equal(sends.length, 2);
    const got = await run(backend, ["--home", bob, "--json", "receive", "--wait", "0.2"]);
    assert.deepEqual(got.stdout.map((l) => JSON.parse(l).text), ["exactly once"]);
  });

  it("listens, reconnects when the edge goes away, and carries on", async () => {
    const alice = await registered("olga");
    const bob = await registered("pete");
    const listener = start(backend, ["--home", bob, "listen"]);
    const bobId = backend.userId("pete");
    const receiving = () => [...backend.connections].some((c) => c.receiving && c.userId === bobId);
    await until(receiving, 5_000, "listening");
    await run(backend, ["--home", alice, "send", "pete", "before"]);
    await until(() => listener.stdout.text.includes("before"), 5_000, "first message");
    backend.dropAll();
    await until(() => listener.stderr.text.includes("reconnecting"), 5_000, "reconnecting");
    await until(receiving, 10_000, "listening again");
    await run(backend, ["--home", alice, "send", "pete", "after"]);
    await until(() => listener.stdout.text.includes("after"), 5_000, "second message");
    backend.shutdown();
    await until(receiving, 10_000, "listening after a drain");
    await run(backend, ["--home", alice, "send", "pete", "drained"]);
    await until(() => listener.stdout.text.includes("drained"), 5_000, "third message");
    listener.interrupt.abort();
    assert.equal(await listener.code, 0);
    assert.equal(listener.stdout.lines().length, 3);
    assert.match(listener.stderr.text, /back online/);
  });

  it("lets a command share a home with a running listener", async () => {
    const alice = await registered("quin");
    const bob = await registered("rosa");
    const listener = start(backend, ["--home", bob, "listen"]);
    await until(() => [...backend.connections].some((c) => c.receiving && c.userId === backend.userId("rosa")), 5_000, "listening");
    const busy = await run(backend, ["--home", bob, "receive", "--wait", "0.1"]);
    assert.equal(busy.code, 1);
    assert.match(busy.err, /already receiving/);
    await Promise.all([
      run(backend, ["--home", alice, "send", "rosa", "one"]),
      run(backend, ["--home", bob, "send", "quin", "reply from another process"]),
    ]);
    await until(() => listener.stdout.text.includes("one"), 5_000, "message");
    const got = await run(backend, ["--home", alice, "receive", "--wait", "0.2"]);
    assert.match(got.out, /rosa: reply from another process/);
    listener.interrupt.abort();
    assert.equal(await listener.code, 0);
  });

  it("runs the interactive shell from piped commands, with the seeds' aliases", async () => {
    const alice = await registered("sara");
    const bob = await registered("theo");
    const shell = start(backend, ["--home", alice]);
    shell.stdin.write("send theo hello from the shell\n");
    shell.stdin.write("SEND theo  two  spaces\n");
    shell.stdin.write("message theo third\n");
    shell.stdin.write("frobnicate\n");
    await until(() => shell.stdout.text.split("sent").length === 4, 5_000, "three sends");
    await run(backend, ["--home", bob, "send", "sara", "back to you"]);
    await until(() => shell.stdout.text.includes("theo: back to you"), 5_000, "live delivery");
    shell.stdin.end("quit\n");
    assert.equal(await shell.code, 0);
    assert.match(shell.stderr.text, /unknown command frobnicate/);
    const got = await run(backend, ["--home", bob, "--json", "receive", "--wait", "0.2"]);
    assert.deepEqual(got.stdout.map((l) => JSON.parse(l).text), ["hello from the shell", "two  spaces", "third"]);
  });

  it("logs out: the server ends the session and the home forgets the tokens", async () => {
    const h = await registered("uma");
    const r = await run(backend, ["--home", h, "logout"]);
    assert.deepEqual([r.code, r.out], [0, "logged out\n"]);
    await assert.rejects(stat(join(h, "session.json")));
    assert.equal((await run(backend, ["--home", h, "send", "uma", "x"])).code, 2);
  });

  it("takes no password from the command line", async () => {
    const r = await run(backend, ["--home", home("x"), "login", "vera", "--password", "hunter22"]);
    assert.equal(r.code, 1);
    assert.doesNotMatch(r.err, /hunter22/);
    const noTty = await run(backend, ["--home", home("x"), "login", "vera"]);
    assert.equal(noTty.code, 1);
    assert.match(noTty.err, /--password-stdin/);
  });

  it("checks the username and password before contacting anyone", async () => {
    const bad = await run(backend, ["--home", home("x"), "register", "No Spaces", "--password-stdin"], { stdin: PW });
    assert.equal(bad.code, 1);
    assert.match(bad.err, /a username is 3 to 32 characters/);
    const short = await run(backend, ["--home", home("x"), "register", "wendy", "--password-stdin"], { stdin: "short\n" });
    assert.deepEqual([short.code, short.err], [1, "natter: a password needs at least 8 bytes\n"]);
    const taken = await run(backend, ["--home", home("x"), "register", "alice", "--password-stdin"], { stdin: PW });
    assert.deepEqual([taken.code, taken.err], [1, "natter: that username is taken\n"]);
  });

  it("prints usage errors in the output mode asked for", async () => {
    const r = await run(backend, ["--json", "send"]);
    assert.equal(r.code, 1);
    assert.equal(JSON.parse(r.err).error, "USAGE");
    const help = await run(backend, ["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.out, /Usage: natter/);
  });
});
