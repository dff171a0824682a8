/**
 * History and receipts: natter run in process against the real services. Every message
 * shown or sent is kept in the home and found again after the run ends; receipts come back
 * as sent → delivered → read, and not at all (read) when they are turned off.
 */
import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { run, until, type Target } from "../../clients/cli/src/testing/harness.ts";
import { CliWorld } from "../support/cli-world.ts";

const DAY = 86_400_000;
type Line = Record<string, unknown>;

describe("history and receipts, in process against the real services", () => {
  let world: CliWorld;
  let edge: Target;

  before(async () => {
    world = await CliWorld.start();
    edge = world.target;
  });
  after(async () => {
    await world?.stop();
  });

  const json = async (home: string, argv: string[], options: { now?: () => number } = {}): Promise<Line[]> => {
    const r = await run(edge, ["--home", home, "--json", ...argv], options);
    assert.equal(r.code, 0, r.err);
    return r.stdout.map((l) => JSON.parse(l) as Line);
  };
  /** What `receive` prints in --json once everything waiting has come. */
  const received = (home: string): Promise<Line[]> => json(home, ["receive", "--wait", "1"]);

  it("keeps what was sent and shown, receipts it in order, and finds it after the run", async () => {
    const ann = await world.registered("ann");
    const ben = await world.registered("ben");
    const listener = await world.listening(ben, ["--json"]);
    const [sent] = await json(ann, ["send", "ben", "hello ben"]);
    await until(() => listener.stdout.text.includes("hello ben"), 10_000, "ben to see it");

    const back = await received(ann);
    assert.deepEqual(back.map((l) => [l.type, l.receipt, l.from, l.of]), [
      ["receipt", "delivered", "ben", [sent!.id]],
      ["receipt", "read", "ben", [sent!.id]],
    ], "delivered, then read; no receipt is shown as a message");

    const [mine] = await json(ann, ["history", "ben"]);
    assert.deepEqual([mine!.id, mine!.direction, mine!.text, mine!.status], [sent!.id, "out", "hello ben", "read"]);
    const [theirs] = await json(ben, ["history", "ann"]);
    assert.deepEqual([theirs!.id, theirs!.direction, theirs!.from, theirs!.text], [sent!.id, "in", "ann", "hello ben"]);
    assert.equal((await stat(join(ben, "history.sqlite"))).mode & 0o777, 0o600);

    // Receipts are never receipted: ben's listener got nothing back for them.
    assert.equal(await received(ann).then((l) => l.length), 0, "nothing more for ann");
    assert.ok(!listener.stdout.text.includes('"type":"receipt"'), "ben never saw a receipt of a receipt");
  });

  it("shows receipts in the shell as status lines", async () => {
    const ola = await world.registered("ola");
    const pat = await world.listening(await world.registered("pat"));
    const shell = world.start(["--home", ola]);
    await until(() => /connected as ola/.test(shell.stdout.text + shell.stderr.text), 10_000, "the shell to connect");
    shell.stdin.write("send pat shell hello\n");
    await until(() => pat.stdout.text.includes("shell hello"), 10_000, "pat to see it");
    await until(() => shell.stdout.text.includes("✓✓ your message read by pat"), 10_000, "the read receipt in the shell");
    assert.ok(shell.stdout.text.indexOf("✓ your message delivered to pat") < shell.stdout.text.indexOf("✓✓ your message read by pat"));
    shell.stdin.write("history pat\nsearch 'shell hello'\n");
    await until(() => /\] me: shell hello {2}\(read\)\n[\s\S]*\] me → pat: shell hello {2}\(read\)/.test(shell.stdout.text), 10_000, "history and search in the shell");
    shell.stdin.end();
    assert.equal(await shell.code, 0, shell.stderr.text);
  });

  it("finds a word from a week ago, and pages with --before", async () => {
    const cat = await world.registered("cat");
    const dan = await world.registered("dan");
    const weekAgo = Date.now() - 7 * DAY;
    await json(cat, ["send", "dan", "the marmalade recipe"], { now: () => weekAgo });
    await json(cat, ["send", "dan", "today's news"]);
    const found = await json(cat, ["search", "marmalade"]);
    assert.deepEqual(found.map((l) => [l.conversation, l.text]), [["dan", "the marmalade recipe"]]);
    assert.equal(Date.parse(found[0]!.at as string), weekAgo);
    const older = await json(cat, ["history", "dan", "--before", new Date(Date.now() - 3 * DAY).toISOString()]);
    assert.deepEqual(older.map((l) => l.text), ["the marmalade recipe"]);
    assert.deepEqual((await json(cat, ["history", "dan", "--limit", "1"])).map((l) => l.text), ["today's news"]);
    const human = await run(edge, ["--home", cat, "search", "marmalade", "--with", "dan"]);
    assert.match(human.out, /^\[\d{4}-\d\d-\d\d \d\d:\d\d\] me → dan: the marmalade recipe {2}\(sent\)$/m);

    // dan has not received them yet: nothing is kept there until they are shown.
    assert.deepEqual(await json(dan, ["search", "marmalade"]), []);
    await received(dan);
    assert.deepEqual((await json(dan, ["search", "marmalade"])).map((l) => l.from), ["cat"]);
  });

  it("forgets a conversation", async () => {
    const eve = await world.registered("eve");
    await world.registered("fox");
    await json(eve, ["send", "fox", "forget me"]);
    const [forgot] = await json(eve, ["history", "--forget", "fox"]);
    assert.deepEqual(forgot, { conversation: "fox", status: "forgotten", messages: 1 });
    assert.deepEqual(await json(eve, ["history", "fox"]), []);
    assert.deepEqual(await json(eve, ["search", "forget"]), []);
    const bad = await run(edge, ["--home", eve, "history", "fox", "--limit", "0"]);
    assert.deepEqual([bad.code, bad.err], [1, "natter: --limit takes a whole number from 1 to 10000\n"]);
  });

  it("with read receipts off: none sent, none shown; delivered ones still go", async () => {
    const gil = await world.registered("gil");
    const hal = await world.registered("hal");
    assert.deepEqual(await json(hal, ["config", "read-receipts", "off"]), [{ setting: "read-receipts", value: "off" }]);
    const [toHal] = await json(gil, ["send", "hal", "are you there"]);
    assert.ok((await received(hal)).some((l) => l.text === "are you there"));
    assert.deepEqual((await received(gil)).map((l) => [l.receipt, l.of]), [["delivered", [toHal!.id]]], "hal sends no read receipt");

    // hal reads gil's receipts of nothing: gil's read receipts are not shown to hal either.
    const [toGil] = await json(hal, ["send", "gil", "yes"]);
    assert.ok((await received(gil)).some((l) => l.text === "yes"));
    assert.deepEqual((await received(hal)).map((l) => [l.receipt, l.of]), [["delivered", [toGil!.id]]]);
    assert.equal((await json(hal, ["history", "gil"])).find((l) => l.id === toGil!.id)!.status, "delivered");
    assert.deepEqual(await json(hal, ["config", "read-receipts"]), [{ setting: "read-receipts", value: "off" }]);
  });

  it("keeps a received file as its saved path", async () => {
    const ivy = await world.registered("ivy");
    const jon = await world.registered("jon");
    const path = await world.fileToSend("plan.txt", new TextEncoder().encode("the plan"));
    await json(ivy, ["send", "jon", "--file", path]);
    const [shown] = (await received(jon)).filter((l) => l.type === "file");
    const [kept] = await json(jon, ["history", "ivy"]);
    assert.deepEqual(kept!.file, { name: "plan.txt", ...(shown!.file as Line) });
    assert.equal((await json(jon, ["search", "plan.txt"])).length, 1);
    assert.equal(((await json(ivy, ["history", "jon"]))[0]!.file as Line).path, path);
  });

  it("keeps group messages and each member's receipts", async () => {
    const kim = await world.registered("kim");
    const lee = await world.registered("lee");
    await json(kim, ["group", "create", "crew", "lee"]);
    const [sent] = await json(kim, ["group", "send", "crew", "crew meeting at noon"]);
    assert.ok((await received(lee)).some((l) => l.text === "crew meeting at noon"));
    const back = await received(kim);
    assert.deepEqual(back.filter((l) => l.type === "receipt").map((l) => [l.receipt, l.from, l.conversation]), [
      ["delivered", "lee", "#crew"],
      ["read", "lee", "#crew"],
    ]);
    const [kept] = await json(kim, ["history", "#crew"]);
    assert.equal(kept!.id, sent!.id);
    assert.deepEqual((kept!.receipts as Line[]).map((r) => `${r.user} ${r.kind}`), ["lee delivered", "lee read"]);
    assert.deepEqual((await json(lee, ["search", "noon", "--with", "#crew"])).map((l) => l.from), ["kim"]);
  });
});
