/** `natter sessions` and `natter sessions revoke`: natter run in process against the real services. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { run, type Target } from "../../clients/cli/src/testing/harness.ts";
import { CliWorld, PASSWORD } from "../support/cli-world.ts";

describe("sessions, in process against the real services", () => {
  let world: CliWorld;
  let edge: Target;

  before(async () => {
    world = await CliWorld.start();
    edge = world.target;
  });
  after(async () => {
    await world?.stop();
  });

  const sessionsOf = async (home: string) => {
    const listed = await run(edge, ["--home", home, "--json", "sessions"]);
    assert.equal(listed.code, 0, listed.err);
    return listed.stdout.map((line) => JSON.parse(line) as { id: string; addr: string; current: boolean; startedAt: string; lastSeenAt: string });
  };

  it("lists this account's sessions and ends one, or all but this one", async () => {
    const laptop = await world.registered("kim");
    const phone = world.path("kim-phone");
    const login = await run(edge, ["--home", phone, "login", "kim", "--password-stdin"], { stdin: `${PASSWORD}\n` });
    assert.equal(login.code, 0, login.err);
    const tablet = world.path("kim-tablet");
    assert.equal((await run(edge, ["--home", tablet, "login", "kim", "--password-stdin"], { stdin: `${PASSWORD}\n` })).code, 0);

    const listed = await sessionsOf(phone);
    assert.equal(listed.length, 3);
    assert.deepEqual(listed.map((s) => s.current), [false, true, false], "oldest first, this home's marked");
    for (const s of listed) assert.ok(s.addr.startsWith("127.0.0.1") && Date.parse(s.startedAt) <= Date.parse(s.lastSeenAt));
    const human = await run(edge, ["--home", phone, "sessions"]);
    assert.match(human.out, new RegExp(`^${listed[1]!.id}  127\\.0\\.0\\.1.*  \\(this one\\)$`, "m"));

    const ended = await run(edge, ["--home", phone, "sessions", "revoke", listed[0]!.id]);
    assert.deepEqual([ended.code, ended.out], [0, "ended the session\n"]);
    const refused = await run(edge, ["--home", laptop, "who"]);
    assert.equal(refused.code, 2, "the ended session's home must log in again");

    const others = await run(edge, ["--home", phone, "--json", "sessions", "revoke", "--others"]);
    assert.deepEqual(JSON.parse(others.out), { ended: 1 });
    assert.equal((await run(edge, ["--home", tablet, "who"])).code, 2);
    assert.deepEqual((await sessionsOf(phone)).map((s) => s.current), [true]);
  });

  it("refuses a revoke without a target, with both, or with an id that is not a session", async () => {
    const home = await world.registered("lou");
    for (const args of [["sessions", "revoke"], ["sessions", "revoke", "x", "--others"], ["sessions", "revoke", "not-an-id"]]) {
      const r = await run(edge, ["--home", home, ...args]);
      assert.equal(r.code, 1, args.join(" "));
      assert.match(r.err, /^natter: /);
    }
    const missing = await run(edge, ["--home", home, "sessions", "revoke", "00000000-0000-4000-8000-000000000000"]);
    assert.deepEqual([missing.code, missing.err], [1, "natter: no such session of yours (it may have ended already)\n"]);
  });
});
