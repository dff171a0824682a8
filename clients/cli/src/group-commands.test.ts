import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { FakeBackend } from "./testing/fake-edge.ts";
import { run, start, tempDir, until } from "./testing/harness.ts";

const PW = "correct horse battery";

describe("natter group commands, in process against a fake edge", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let backend: FakeBackend;
  let n = 0;

  before(async () => {
    dir = await tempDir();
    backend = new FakeBackend();
  });
  after(async () => {
    await dir[Symbol.asyncDispose]();
  });

  async function registered(name: string): Promise<string> {
    const h = join(dir.path, `${name}-${n++}`);
    const r = await run(backend, ["--home", h, "register", name, "--password-stdin"], { stdin: `${PW}\n` });
    assert.equal(r.code, 0, r.err);
    return h;
  }

  it("creates, lists, shows members and chats, in human output", async () => {
    const alice = await registered("alice");
    const bob = await registered("bob");
    const created = await run(backend, ["--home", alice, "group", "create", "team", "bob"]);
    assert.deepEqual([created.code, created.out], [0, "created #team with alice (admin), bob\n"]);
    const list = await run(backend, ["--home", bob, "group", "list"]);
    assert.equal(list.out, "#team  2 members\n");
    const members = await run(backend, ["--home", bob, "group", "members", "team"]);
    assert.equal(members.out, "#team:\n  alice (admin)\n  bob\n");
    const sent = await run(backend, ["--home", alice, "group", "send", "team", "hello", "team"]);
    assert.deepEqual([sent.code, sent.out, sent.err], [0, "", ""]);
    const got = await run(backend, ["--home", bob, "receive", "--wait", "0.2"]);
    assert.equal(got.code, 0, got.err);
    assert.match(got.out, /^\[\d\d:\d\d\] #team: alice created the group\n\[\d\d:\d\d\] #team alice: hello team\n$/);
  });

  it("speaks JSON lines: group list, group messages with their group, membership events", async () => {
    const amy = await registered("amy");
    const ben = await registered("ben");
    await run(backend, ["--home", amy, "group", "create", "crew"]);
    const added = await run(backend, ["--home", amy, "--json", "group", "add", "crew", "ben"]);
    assert.deepEqual(JSON.parse(added.out), { group: "crew", user: "ben", status: "added" });
    const sent = await run(backend, ["--home", amy, "--json", "group", "send", "crew", "hi", "ben"]);
    const s = JSON.parse(sent.out);
    assert.deepEqual([s.group, s.status], ["crew", "accepted"]);
    const list = await run(backend, ["--home", ben, "--json", "group", "list"]);
    assert.ok(list.stdout.map((l) => JSON.parse(l)).some((g) => g.name === "crew" && g.members === 2 && Object.keys(g).length === 2));
    const got = await run(backend, ["--home", ben, "--json", "receive", "--wait", "0.2"]);
    const [event, message] = got.stdout.map((l) => JSON.parse(l));
    assert.deepEqual([event.type, event.group, event.event, event.user, event.by], ["event", "crew", "added", "ben", "amy"]);
    assert.deepEqual(Object.keys(message), ["id", "from", "group", "type", "text", "sentAt"]);
    assert.deepEqual([message.id, message.from, message.group, message.text], [s.id, "amy", "crew", "hi ben"]);
  });

  it("refuses a non-admin's add and remove with the catalogue's sentence, exit 1", async () => {
    const cleo = await registered("cleo");
    const dora = await registered("dora");
    await run(backend, ["--home", cleo, "group", "create", "club", "dora"]);
    for (const op of ["add", "remove"]) {
      const r = await run(backend, ["--home", dora, "group", op, "club", "cleo"]);
      assert.deepEqual([r.code, r.err], [1, "natter: only admins can add or remove members\n"]);
    }
    const notMember = await run(backend, ["--home", dora, "group", "send", "nope-group", "x"]);
    assert.deepEqual([notMember.code, notMember.err], [1, "natter: no such group\n"]);
    const usage = await run(backend, ["--home", dora, "group", "send", "club"]);
    assert.equal(usage.code, 1);
  });

  it("joins a group nobody made yet by creating it", async () => {
    const erin = await registered("erin");
    const r = await run(backend, ["--home", erin, "--json", "group", "join", "fresh"]);
    assert.deepEqual(JSON.parse(r.out).status, "created");
    const fred = await registered("fred");
    const j = await run(backend, ["--home", fred, "group", "join", "fresh"]);
    assert.equal(j.out, "joined #fresh: erin (admin), fred\n");
  });

  it("takes the seeds' words in the shell: CREATE, JOIN, LIST, SENDGROUP, SENDFILE, SENDGROUPFILE", async () => {
    const gina = await registered("gina");
    const hank = await registered("hank");
    const { writeFile } = await import("node:fs/promises");
    const path = join(dir.path, "pic.png");
    await writeFile(path, new Uint8Array([0x89, 0x50, 0x4e, 0x47]));
    const shell = start(backend, ["--home", gina, "--json"]);
    shell.stdin.write("CREATE band hank\n");
    shell.stdin.write("LIST\n");
    shell.stdin.write("SENDGROUP band rock on\n");
    shell.stdin.write(`SENDFILE hank ${path}\n`);
    shell.stdin.write(`SENDGROUPFILE band ${path}\n`);
    shell.stdin.write("group members band\n");
    await until(() => shell.stdout.lines().length >= 6, 5_000, "six answers");
    const joined = await run(backend, ["--home", hank, "--json", "group", "join", "band"]);
    assert.equal(JSON.parse(joined.err).error, "ALREADY_A_MEMBER");
    const jo = await registered("jo-1");
    shell.stdin.end("quit\n");
    assert.equal(await shell.code, 0, shell.stderr.text);
    const lines = shell.stdout.lines().map((l) => JSON.parse(l));
    assert.equal(lines[0].status, "created");
    assert.ok(lines.some((l) => l.name === "band" && l.members === 2));
    assert.ok(lines.some((l) => l.group === "band" && l.status === "accepted" && !l.file));
    assert.ok(lines.some((l) => l.to === "hank" && l.file?.name === "pic.png"));
    assert.ok(lines.some((l) => l.group === "band" && l.file?.mime === "image/png"));
    const got = await run(backend, ["--home", hank, "--json", "receive", "--wait", "0.2"]);
    const shown = got.stdout.map((l) => JSON.parse(l)).filter((l) => l.type !== "event");
    assert.deepEqual(shown.map((l) => [l.type, l.group ?? null, l.text ?? l.file.name]), [["text", "band", "rock on"], ["file", null, "pic.png"], ["file", "band", "pic (1).png"]]);
    const j = await run(backend, ["--home", jo, "--json"], { stdin: "JOIN band\n" });
    // The shell also shows the membership event it received before it quit.
    assert.ok(j.stdout.map((l) => JSON.parse(l)).some((l) => l.status === "joined"), j.out);
  });
});
