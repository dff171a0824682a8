/** natter's group commands run in process against the real group service. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { run, until, type Target } from "../../clients/cli/src/testing/harness.ts";
import { CliWorld } from "../support/cli-world.ts";

describe("natter group commands, in process against the real services", () => {
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

  it("creates, lists, shows members and chats, in human output", async () => {
    const alice = await registered("alice");
    const bob = await registered("bob");
    const created = await run(edge, ["--home", alice, "group", "create", "team", "bob"]);
    assert.deepEqual([created.code, created.out], [0, "created #team with alice (admin), bob\n"]);
    const list = await run(edge, ["--home", bob, "group", "list"]);
    assert.equal(list.out, "#team  2 members\n");
    const members = await run(edge, ["--home", bob, "group", "members", "team"]);
    assert.equal(members.out, "#team:\n  alice (admin)\n  bob\n");
    const sent = await run(edge, ["--home", alice, "group", "send", "team", "hello", "team"]);
    assert.deepEqual([sent.code, sent.out, sent.err], [0, "", ""]);
    await world.probe.fannedOut();
    const got = await run(edge, ["--home", bob, "receive", "--wait", "0.2"]);
    assert.equal(got.code, 0, got.err);
    assert.match(got.out, /^\[\d\d:\d\d\] #team: alice created the group\n\[\d\d:\d\d\] #team alice: hello team\n$/);
  });

  it("speaks JSON lines: group list, group messages with their group, membership events", async () => {
    const amy = await registered("amy");
    const ben = await registered("ben");
    await run(edge, ["--home", amy, "group", "create", "crew"]);
    const added = await run(edge, ["--home", amy, "--json", "group", "add", "crew", "ben"]);
    assert.deepEqual(JSON.parse(added.out), { group: "crew", user: "ben", status: "added" });
    const sent = await run(edge, ["--home", amy, "--json", "group", "send", "crew", "hi", "ben"]);
    const s = JSON.parse(sent.out);
    assert.deepEqual([s.group, s.status], ["crew", "accepted"]);
    const list = await run(edge, ["--home", ben, "--json", "group", "list"]);
    assert.ok(list.stdout.map((l) => JSON.parse(l)).some((g) => g.name === "crew" && g.members === 2 && Object.keys(g).length === 2));
    await world.probe.fannedOut();
    const got = await run(edge, ["--home", ben, "--json", "receive", "--wait", "0.2"]);
    const [event, message] = got.stdout.map((l) => JSON.parse(l));
    assert.deepEqual([event.type, event.group, event.event, event.user, event.by], ["event", "crew", "added", "ben", "amy"]);
    assert.deepEqual(Object.keys(message), ["id", "from", "group", "type", "text", "sentAt"]);
    assert.deepEqual([message.id, message.from, message.group, message.text], [s.id, "amy", "crew", "hi ben"]);
  });

  it("refuses a non-admin's add and remove with the catalogue's sentence, exit 1", async () => {
    const cleo = await registered("cleo");
    const dora = await registered("dora");
    await run(edge, ["--home", cleo, "group", "create", "club", "dora"]);
    for (const op of ["add", "remove"]) {
      const r = await run(edge, ["--home", dora, "group", op, "club", "cleo"]);
      assert.deepEqual([r.code, r.err], [1, "natter: only admins can add or remove members\n"]);
    }
    const notMember = await run(edge, ["--home", dora, "group", "send", "nope-group", "x"]);
    assert.deepEqual([notMember.code, notMember.err], [1, "natter: no such group\n"]);
    const usage = await run(edge, ["--home", dora, "group", "send", "club"]);
    assert.equal(usage.code, 1);
  });

  it("joins a group nobody made yet by creating it", async () => {
    const erin = await registered("erin");
    const r = await run(edge, ["--home", erin, "--json", "group", "join", "fresh"]);
    assert.deepEqual(JSON.parse(r.out).status, "created");
    const fred = await registered("fred");
    const j = await run(edge, ["--home", fred, "group", "join", "fresh"]);
    assert.equal(j.out, "joined #fresh: erin (admin), fred\n");
  });

  it("takes the seeds' words in the shell: CREATE, JOIN, LIST, SENDGROUP, SENDFILE, SENDGROUPFILE", async () => {
    const gina = await registered("gina");
    const hank = await registered("hank");
    const path = await world.fileToSend("pic.png", new Uint8Array([0x89, 0x50, 0x4e, 0x47]));
    const shell = world.start(["--home", gina, "--json"]);
    shell.stdin.write("CREATE band hank\n");
    shell.stdin.write("LIST\n");
    shell.stdin.write("SENDGROUP band rock on\n");
    // A group message reaches hank's inbox through the group service's fan-out, a 1:1
    // message straight from the edge: one after the other, so hank's inbox has them in the order sent.
    await until(() => shell.stdout.text.includes('"status":"accepted"'), 5_000, "the group message accepted");
    await world.probe.fannedOut();
    shell.stdin.write(`SENDFILE hank ${path}\n`);
    shell.stdin.write(`SENDGROUPFILE band ${path}\n`);
    shell.stdin.write("group members band\n");
    await until(() => shell.stdout.lines().length >= 6, 5_000, "six answers");
    const joined = await run(edge, ["--home", hank, "--json", "group", "join", "band"]);
    assert.equal(JSON.parse(joined.err).error, "ALREADY_A_MEMBER");
    const jo = await registered("jo-1");
    shell.stdin.end("quit\n");
    assert.equal(await shell.code, 0, shell.stderr.text);
    const lines = shell.stdout.lines().map((l) => JSON.parse(l));
    // The group service tells the members (gina too) of the new group before it answers, so
    // the shell may show that event before the answer: the first answer is what counts.
    const answers = lines.filter((l) => l.type !== "event");
    assert.equal(answers[0].status, "created", shell.stdout.text);
    assert.ok(lines.some((l) => l.name === "band" && l.members === 2));
    assert.ok(lines.some((l) => l.group === "band" && l.status === "accepted" && !l.file));
    assert.ok(lines.some((l) => l.to === "hank" && l.file?.name === "pic.png"));
    assert.ok(lines.some((l) => l.group === "band" && l.file?.mime === "image/png"));
    await world.probe.fannedOut();
    const got = await run(edge, ["--home", hank, "--json", "receive", "--wait", "0.2"]);
    const shown = got.stdout.map((l) => JSON.parse(l)).filter((l) => l.type !== "event");
    assert.deepEqual(shown.map((l) => [l.type, l.group ?? null, l.text ?? l.file.name]), [["text", "band", "rock on"], ["file", null, "pic.png"], ["file", "band", "pic (1).png"]]);
    const j = await run(edge, ["--home", jo, "--json"], { stdin: "JOIN band\n" });
    // The shell also shows the membership event it received before it quit.
    assert.ok(j.stdout.map((l) => JSON.parse(l)).some((l) => l.status === "joined"), j.out);
  });
});
