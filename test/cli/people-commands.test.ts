/** who, block, broadcast and profiles: natter run in process against the real services. */
import assert from "node:assert/strict";
import { readFile, truncate } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DeviceIdentity, fromBase64url, sealBackupWithKey } from "@natter/crypto";
import { run, testPrimitives, until, type Run, type Target } from "../../clients/cli/src/testing/harness.ts";
import { CliWorld, PASSWORD as PW } from "../support/cli-world.ts";

/** A real 1×1 PNG. */
const PNG = Buffer.from(
  "89504e470d0a1a0a0000000d4948445200000001000000010806000000" +
  "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f5b1f40000000049454e44ae426082", "hex");

describe("who, block, broadcast and profiles, in process against the real services", () => {
  let world: CliWorld;
  let edge: Target;

  before(async () => {
    world = await CliWorld.start();
    edge = world.target;
  });
  after(async () => {
    await world?.stop();
  });

  const registered = (name: string): Promise<string> => world.registered(name);
  const listening = (home: string): Promise<Run> => world.listening(home, ["--json"]);

  it("lists who is online, and who was within the hour, without me", async () => {
    const ada = await registered("ada");
    await listening(await registered("bea"));
    // cyd registers and is gone: presence saw cyd come and go a moment ago.
    await registered("cyd");
    await world.probe.presenceSettled();
    const human = await run(edge, ["--home", ada, "who"]);
    assert.equal(human.code, 0, human.err);
    assert.match(human.out, /^bea +online$/m);
    assert.doesNotMatch(human.out, /ada|cyd/);
    const json = await run(edge, ["--home", ada, "--json", "who", "--last-hour"]);
    const lines = json.stdout.map((l) => JSON.parse(l));
    assert.deepEqual(lines.find((l) => l.user === "bea"), { user: "bea", online: true, lastSeen: null });
    const cy = lines.find((l) => l.user === "cyd");
    assert.equal(cy.online, false);
    assert.equal(new Date(cy.lastSeen).toISOString(), cy.lastSeen);
    assert.ok(!lines.some((l) => l.user === "ada"));
    const words = await run(edge, ["--home", ada], { stdin: "wholasthr\n" });
    assert.match(words.out, /^cyd +last seen \d\d:\d\d$/m);
  });

  it("blocks: no 1:1 message arrives, group messages are hidden, presence is hidden; unblock restores", async () => {
    const dot = await registered("dot");
    const eve = await registered("eve");
    const listener = await listening(dot);
    assert.equal((await run(edge, ["--home", eve, "group", "create", "club", "dot"])).code, 0);
    assert.equal((await run(edge, ["--home", eve, "group", "send", "club", "before"])).code, 0);
    await until(() => listener.stdout.text.includes("before"), 5_000, "a group message before the block");
    const blocked = await run(edge, ["--home", dot, "--json", "block", "eve"]);
    assert.deepEqual(JSON.parse(blocked.out), { user: "eve", status: "blocked" });
    assert.ok(!(await run(edge, ["--home", eve, "--json", "who"])).stdout.some((l) => JSON.parse(l).user === "dot"));
    assert.equal((await run(edge, ["--home", eve, "send", "dot", "let me in"])).code, 0);
    assert.equal(await world.probe.waitingAfterAcks("dot"), 0);
    // A group message from eve is delivered (the group service does not know blocks) but not shown.
    assert.equal((await run(edge, ["--home", eve, "group", "send", "club", "hidden"])).code, 0);
    await world.probe.fannedOut();
    assert.equal(await world.probe.waitingAfterAcks("dot"), 0, "acked");
    assert.ok(!listener.stdout.text.includes("hidden"));
    const unblocked = await run(edge, ["--home", dot, "unblock", "eve"]);
    assert.equal(unblocked.out, "unblocked eve\n");
    await run(edge, ["--home", eve, "send", "dot", "hello again"]);
    await run(edge, ["--home", eve, "group", "send", "club", "visible"]);
    await until(() => listener.stdout.text.includes("visible") && listener.stdout.text.includes("hello again"), 5_000, "shown");
    assert.ok(!listener.stdout.text.includes("let me in"), "the message sent while blocked never arrives");
    const self = await run(edge, ["--home", dot, "block", "dot"]);
    assert.deepEqual([self.code, self.err], [1, "natter: you cannot block yourself\n"]);
  });

  it("broadcasts to everyone online but those who blocked me", async () => {
    const fay = await registered("fay");
    const gus = await listening(await registered("gus"));
    const hal = await registered("hal");
    const halListener = await listening(hal);
    await run(edge, ["--home", hal, "block", "fay"]);
    await world.probe.presenceSettled();
    const sent = await run(edge, ["--home", fay, "--json", "broadcast", "hello", "all"]);
    assert.equal(sent.code, 0, sent.err);
    assert.deepEqual(JSON.parse(sent.out), { status: "broadcast", recipients: (await world.probe.who("fay")).length });
    await until(() => gus.stdout.text.includes("hello all"), 5_000, "gus got it");
    assert.ok(!halListener.stdout.text.includes("hello all"));
    const shell = await run(edge, ["--home", fay], { stdin: "broadcast once more\n" });
    assert.match(shell.out, /^sent to \d+ users? online$/m);
  });

  it("keeps a profile end to end encrypted, and a contact reads it with the key from a message", async () => {
    const ivy = await registered("ivy");
    const jan = await registered("jan");
    const avatar = await world.fileToSend("me.png", PNG);
    const set = await run(edge, ["--home", ivy, "--json", "profile", "set", "--name", "Ivy Example", "--avatar", avatar]);
    assert.equal(set.code, 0, set.err);
    assert.equal(JSON.parse(set.out).name, "Ivy Example");
    // Merged with what is there; the server holds only ciphertext.
    assert.equal((await run(edge, ["--home", ivy, "profile", "set", "--status", "out sailing"])).code, 0);
    const blob = (await world.probe.profileBlob("ivy"))!;
    assert.doesNotMatch(Buffer.from(blob, "base64url").toString("latin1"), /Ivy|sailing/);

    const early = await run(edge, ["--home", jan, "profile", "show", "ivy"]);
    assert.deepEqual([early.code, early.err], [1, "natter: no profile key from ivy yet: they share it when they message you\n"]);
    await run(edge, ["--home", ivy, "send", "jan", "hi"]);
    await run(edge, ["--home", jan, "receive", "--wait", "0.1"]);
    const shown = await run(edge, ["--home", jan, "--json", "profile", "show", "ivy"]);
    assert.equal(shown.code, 0, shown.err);
    const profile = JSON.parse(shown.out);
    assert.deepEqual([profile.user, profile.name, profile.status], ["ivy", "Ivy Example", "out sailing"]);
    assert.ok(profile.avatar.startsWith(join(jan, "downloads")));
    assert.deepEqual(await readFile(profile.avatar), PNG);
    // Shown again: the same file, not a second copy.
    assert.equal(JSON.parse((await run(edge, ["--home", jan, "--json", "profile", "show", "ivy"])).out).avatar, profile.avatar);
    const mine = await run(edge, ["--home", ivy, "profile", "show"]);
    assert.match(mine.out, /^ivy\n {2}name: {3}Ivy Example\n {2}status: out sailing\n {2}avatar: .*ivy-avatar-.*\.png\n$/);
  });

  it("refuses an avatar that is not an image or is over 5 MiB, before connecting", async () => {
    const kim = await registered("kim");
    const text = await world.fileToSend("notes.png", Buffer.from("just text"));
    const notImage = await run(edge, ["--home", kim, "profile", "set", "--avatar", text]);
    assert.deepEqual([notImage.code, notImage.err], [1, "natter: an avatar must be a PNG, JPEG, GIF or WebP image\n"]);
    const big = await world.fileToSend("big.png", PNG);
    await truncate(big, 5 * 1024 * 1024 + 1);
    const tooBig = await run(edge, ["--home", kim, "profile", "set", "--avatar", big]);
    assert.deepEqual([tooBig.code, tooBig.err], [1, "natter: an avatar is at most 5 MiB\n"]);
  });

  it("restores the profile key from the key backup on a new home, and adds one to an old backup", async () => {
    const lee = await registered("lee");
    await run(edge, ["--home", lee, "profile", "set", "--name", "Lee"]);
    const laptop = world.path("lee-laptop");
    assert.equal((await run(edge, ["--home", laptop, "login", "lee", "--password-stdin"], { stdin: PW })).code, 0);
    assert.match((await run(edge, ["--home", laptop, "profile", "show"])).out, /name: {3}Lee/);
    const before = JSON.parse(await readFile(join(laptop, "account.json"), "utf8")).profileKey;
    assert.equal(before, JSON.parse(await readFile(join(lee, "account.json"), "utf8")).profileKey);

    // An account whose backup predates profiles: a new key, sealed into the backup at once.
    const mo = await registered("moe");
    const p = testPrimitives();
    const moAccount = JSON.parse(await readFile(join(mo, "account.json"), "utf8"));
    const device = await DeviceIdentity.fromJSON(p, moAccount.device);
    const withoutProfile = new TextEncoder().encode(JSON.stringify({ v: 2, device: device.toJSON() }));
    await world.probe.putBackup("moe", await sealBackupWithKey(p, withoutProfile, fromBase64url(moAccount.backupKey)));
    const fresh = world.path("mo-laptop");
    assert.equal((await run(edge, ["--home", fresh, "login", "moe", "--password-stdin"], { stdin: PW })).code, 0);
    const made = JSON.parse(await readFile(join(fresh, "account.json"), "utf8")).profileKey;
    assert.match(made, /^[A-Za-z0-9_-]{43}$/);
    const again = world.path("mo-desk");
    assert.equal((await run(edge, ["--home", again, "login", "moe", "--password-stdin"], { stdin: PW })).code, 0);
    assert.equal(JSON.parse(await readFile(join(again, "account.json"), "utf8")).profileKey, made);
  });

  it("takes the same commands in the shell, with quoted values", async () => {
    const nell = await registered("nell");
    const r = await run(edge, ["--home", nell, "--json"], { stdin: 'profile set --name "Nell Example" --status \'at sea\'\nprofile show\nwhoelse\nblock nell\n' });
    const lines = r.stdout.map((l) => JSON.parse(l));
    assert.deepEqual(lines.find((l) => l.saved), { user: "nell", name: "Nell Example", status: "at sea", avatar: null, saved: true });
    assert.deepEqual(lines.find((l) => !l.saved), { user: "nell", name: "Nell Example", status: "at sea", avatar: null });
    assert.equal(JSON.parse(r.err).error, "CANNOT_BLOCK_SELF");
  });
});
