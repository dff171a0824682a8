import assert from "node:assert/strict";
import { readFile, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { encryptDeviceBackup, DeviceIdentity } from "@natter/crypto";
import { shellWords } from "./commands/shell.ts";
import { FakeBackend } from "./testing/fake-edge.ts";
import { run, start, tempDir, testPrimitives, until, type Run } from "./testing/harness.ts";

const PW = "correct horse battery";
/** A real 1×1 PNG. */
const PNG = Buffer.from(
  "89504e470d0a1a0a0000000d4948445200000001000000010806000000" +
  "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f5b1f40000000049454e44ae426082", "hex");

describe("who, block, broadcast and profiles, in process against a fake edge", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let backend: FakeBackend;
  let n = 0;
  const running: Run[] = [];

  before(async () => {
    dir = await tempDir();
    backend = new FakeBackend();
  });
  after(async () => {
    for (const r of running) r.interrupt.abort();
    await Promise.all(running.map((r) => r.code));
    await dir[Symbol.asyncDispose]();
  });

  async function registered(name: string): Promise<string> {
    const h = join(dir.path, `${name}-${n++}`);
    const r = await run(backend, ["--home", h, "register", name, "--password-stdin"], { stdin: `${PW}\n` });
    assert.equal(r.code, 0, r.err);
    return h;
  }

  async function listening(home: string, name: string): Promise<Run> {
    const r = start(backend, ["--home", home, "--json", "listen"]);
    running.push(r);
    await until(() => [...backend.connections].some((c) => c.receiving && c.userId === backend.userId(name)), 5_000, `${name} listening`);
    return r;
  }

  it("lists who is online, and who was within the hour, without me", async () => {
    const ada = await registered("ada");
    await listening(await registered("bea"), "bea");
    await registered("cyd");
    backend.lastSeen.set(backend.userId("cyd"), backend.now() - 2 * 3_600_000);
    const human = await run(backend, ["--home", ada, "who"]);
    assert.equal(human.code, 0, human.err);
    assert.match(human.out, /^bea +online$/m);
    assert.doesNotMatch(human.out, /ada|cyd/);
    backend.lastSeen.set(backend.userId("cyd"), backend.now() - 120_000);
    const json = await run(backend, ["--home", ada, "--json", "who", "--last-hour"]);
    const lines = json.stdout.map((l) => JSON.parse(l));
    assert.deepEqual(lines.find((l) => l.user === "bea"), { user: "bea", online: true, lastSeen: null });
    const cy = lines.find((l) => l.user === "cyd");
    assert.equal(cy.online, false);
    assert.equal(new Date(cy.lastSeen).toISOString(), cy.lastSeen);
    assert.ok(!lines.some((l) => l.user === "ada"));
    const words = await run(backend, ["--home", ada], { stdin: "wholasthr\n" });
    assert.match(words.out, /^cyd +last seen \d\d:\d\d$/m);
  });

  it("blocks: no 1:1 message arrives, group messages are hidden, presence is hidden; unblock restores", async () => {
    const dot = await registered("dot");
    const eve = await registered("eve");
    const listener = await listening(dot, "dot");
    assert.equal((await run(backend, ["--home", eve, "group", "create", "club", "dot"])).code, 0);
    assert.equal((await run(backend, ["--home", eve, "group", "send", "club", "before"])).code, 0);
    await until(() => listener.stdout.text.includes("before"), 5_000, "a group message before the block");
    const blocked = await run(backend, ["--home", dot, "--json", "block", "eve"]);
    assert.deepEqual(JSON.parse(blocked.out), { user: "eve", status: "blocked" });
    assert.ok(!(await run(backend, ["--home", eve, "--json", "who"])).stdout.some((l) => JSON.parse(l).user === "dot"));
    assert.equal((await run(backend, ["--home", eve, "send", "dot", "let me in"])).code, 0);
    assert.deepEqual(backend.inbox(backend.userId("dot")), []);
    // A group message from eve is delivered (the group service does not know blocks) but not shown.
    assert.equal((await run(backend, ["--home", eve, "group", "send", "club", "hidden"])).code, 0);
    await until(() => backend.inbox(backend.userId("dot")).length === 0, 5_000, "acked");
    assert.ok(!listener.stdout.text.includes("hidden"));
    const unblocked = await run(backend, ["--home", dot, "unblock", "eve"]);
    assert.equal(unblocked.out, "unblocked eve\n");
    await run(backend, ["--home", eve, "send", "dot", "hello again"]);
    await run(backend, ["--home", eve, "group", "send", "club", "visible"]);
    await until(() => listener.stdout.text.includes("visible") && listener.stdout.text.includes("hello again"), 5_000, "shown");
    const self = await run(backend, ["--home", dot, "block", "dot"]);
    assert.deepEqual([self.code, self.err], [1, "natter: you cannot block yourself\n"]);
  });

  it("broadcasts to everyone online but those who blocked me", async () => {
    const fay = await registered("fay");
    const gus = await listening(await registered("gus"), "gus");
    const hal = await registered("hal");
    const halListener = await listening(hal, "hal");
    await run(backend, ["--home", hal, "block", "fay"]);
    const sent = await run(backend, ["--home", fay, "--json", "broadcast", "hello", "all"]);
    assert.equal(sent.code, 0, sent.err);
    assert.deepEqual(JSON.parse(sent.out), { status: "broadcast", recipients: backend.who(backend.userId("fay"), false).length });
    await until(() => gus.stdout.text.includes("hello all"), 5_000, "gus got it");
    assert.ok(!halListener.stdout.text.includes("hello all"));
    const shell = await run(backend, ["--home", fay], { stdin: "broadcast once more\n" });
    assert.match(shell.out, /^sent to \d+ users? online$/m);
  });

  it("keeps a profile end to end encrypted, and a contact reads it with the key from a message", async () => {
    const ivy = await registered("ivy");
    const jan = await registered("jan");
    const avatar = join(dir.path, "me.png");
    await writeFile(avatar, PNG);
    const set = await run(backend, ["--home", ivy, "--json", "profile", "set", "--name", "Ivy Example", "--avatar", avatar]);
    assert.equal(set.code, 0, set.err);
    assert.equal(JSON.parse(set.out).name, "Ivy Example");
    // Merged with what is there; the server holds only ciphertext.
    assert.equal((await run(backend, ["--home", ivy, "profile", "set", "--status", "out sailing"])).code, 0);
    const blob = backend.profiles.get(backend.userId("ivy"))!;
    assert.doesNotMatch(Buffer.from(blob, "base64url").toString("latin1"), /Ivy|sailing/);

    const early = await run(backend, ["--home", jan, "profile", "show", "ivy"]);
    assert.deepEqual([early.code, early.err], [1, "natter: no profile key from ivy yet: they share it when they message you\n"]);
    await run(backend, ["--home", ivy, "send", "jan", "hi"]);
    await run(backend, ["--home", jan, "receive", "--wait", "0.1"]);
    const shown = await run(backend, ["--home", jan, "--json", "profile", "show", "ivy"]);
    assert.equal(shown.code, 0, shown.err);
    const profile = JSON.parse(shown.out);
    assert.deepEqual([profile.user, profile.name, profile.status], ["ivy", "Ivy Example", "out sailing"]);
    assert.ok(profile.avatar.startsWith(join(jan, "downloads")));
    assert.deepEqual(await readFile(profile.avatar), PNG);
    // Shown again: the same file, not a second copy.
    assert.equal(JSON.parse((await run(backend, ["--home", jan, "--json", "profile", "show", "ivy"])).out).avatar, profile.avatar);
    const mine = await run(backend, ["--home", ivy, "profile", "show"]);
    assert.match(mine.out, /^ivy\n {2}name: {3}Ivy Example\n {2}status: out sailing\n {2}avatar: .*ivy-avatar-.*\.png\n$/);
  });

  it("refuses an avatar that is not an image or is over 5 MiB, before connecting", async () => {
    const kim = await registered("kim");
    const text = join(dir.path, "notes.png");
    await writeFile(text, "just text");
    const notImage = await run(backend, ["--home", kim, "profile", "set", "--avatar", text]);
    assert.deepEqual([notImage.code, notImage.err], [1, "natter: an avatar must be a PNG, JPEG, GIF or WebP image\n"]);
    const big = join(dir.path, "big.png");
    await writeFile(big, PNG);
    await truncate(big, 5 * 1024 * 1024 + 1);
    const tooBig = await run(backend, ["--home", kim, "profile", "set", "--avatar", big]);
    assert.deepEqual([tooBig.code, tooBig.err], [1, "natter: an avatar is at most 5 MiB\n"]);
  });

  it("restores the profile key from the key backup on a new home, and adds one to an old backup", async () => {
    const lee = await registered("lee");
    await run(backend, ["--home", lee, "profile", "set", "--name", "Lee"]);
    const laptop = join(dir.path, `lee-laptop-${n++}`);
    assert.equal((await run(backend, ["--home", laptop, "login", "lee", "--password-stdin"], { stdin: PW })).code, 0);
    assert.match((await run(backend, ["--home", laptop, "profile", "show"])).out, /name: {3}Lee/);
    const before = JSON.parse(await readFile(join(laptop, "account.json"), "utf8")).profileKey;
    assert.equal(before, JSON.parse(await readFile(join(lee, "account.json"), "utf8")).profileKey);

    // An account whose backup predates profiles: a new key, sealed into the backup at once.
    const mo = await registered("moe");
    const p = testPrimitives();
    const device = await DeviceIdentity.fromJSON(p, JSON.parse(await readFile(join(mo, "account.json"), "utf8")).device);
    backend.accounts.get(backend.userId("moe"))!.backup = await encryptDeviceBackup(p, device, PW);
    const fresh = join(dir.path, `mo-laptop-${n++}`);
    assert.equal((await run(backend, ["--home", fresh, "login", "moe", "--password-stdin"], { stdin: PW })).code, 0);
    const made = JSON.parse(await readFile(join(fresh, "account.json"), "utf8")).profileKey;
    assert.match(made, /^[A-Za-z0-9_-]{43}$/);
    const again = join(dir.path, `mo-desk-${n++}`);
    assert.equal((await run(backend, ["--home", again, "login", "moe", "--password-stdin"], { stdin: PW })).code, 0);
    assert.equal(JSON.parse(await readFile(join(again, "account.json"), "utf8")).profileKey, made);
  });

  it("takes the same commands in the shell, with quoted values", async () => {
    const nell = await registered("nell");
    const r = await run(backend, ["--home", nell, "--json"], { stdin: 'profile set --name "Nell Example" --status \'at sea\'\nprofile show\nwhoelse\nblock nell\n' });
    const lines = r.stdout.map((l) => JSON.parse(l));
    assert.deepEqual(lines.find((l) => l.saved), { user: "nell", name: "Nell Example", status: "at sea", avatar: null, saved: true });
    assert.deepEqual(lines.find((l) => !l.saved), { user: "nell", name: "Nell Example", status: "at sea", avatar: null });
    assert.equal(JSON.parse(r.err).error, "CANNOT_BLOCK_SELF");
  });

  it("splits shell lines into words with quotes", () => {
    assert.deepEqual(shellWords(`--name "Ann Example" --status 'out sailing' --avatar me.png`), ["--name", "Ann Example", "--status", "out sailing", "--avatar", "me.png"]);
    assert.deepEqual(shellWords(String.raw`"say \"hi\"" x`), ['say "hi"', "x"]);
  });
});
