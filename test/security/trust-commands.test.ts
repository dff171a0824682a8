/**
 * The trust commands of `natter`, run in process against the real services: a contact
 * pinned with one identity key whom the server now answers with another is refused
 * (IDENTITY_CHANGED, exit 1, naming the commands to run) until `natter trust`; `verify`
 * shows both safety numbers meanwhile, `verify --mark-verified` records a comparison, and
 * `who` and `--json` show each contact's state.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DeviceIdentity } from "@natter/crypto";
import { run, testPrimitives, type Target } from "../../clients/cli/src/testing/harness.ts";
import { CliWorld } from "../support/cli-world.ts";

describe("natter verify, trust and who with a changed identity key", () => {
  let world: CliWorld;
  let edge: Target;

  before(async () => {
    world = await CliWorld.start();
    edge = world.target;
  });
  after(async () => {
    await world?.stop();
  });

  /** Makes the key pinned for `username` in `home` another one, as if first met under a key the server no longer gives out. */
  async function pinAnotherKey(home: string, username: string): Promise<void> {
    const path = join(home, "contacts.json");
    const file = JSON.parse(await readFile(path, "utf8"));
    const other = await DeviceIdentity.generate(testPrimitives(), { oneTimePrekeys: 0 });
    const entry = Object.values(file.contacts as Record<string, { username: string; identityKey: string }>).find((c) => c.username === username);
    assert(entry, `${username} is pinned`);
    entry.identityKey = other.identityKey;
    await writeFile(path, JSON.stringify(file));
  }

  it("refuses to send after a key change until natter trust, then sends", async () => {
    const ann = await world.registered("ann");
    const ben = await world.registered("ben");
    const first = await run(edge, ["--home", ann, "--json", "verify", "ben"]);
    assert.equal(first.code, 0, first.err);
    assert.equal(JSON.parse(first.out).state, "unverified");
    await pinAnotherKey(ann, "ben");

    const refused = await run(edge, ["--home", ann, "send", "ben", "are you there?"]);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /identity key of ben has changed/);
    assert.match(refused.err, /natter trust ben/);
    const nothing = await run(edge, ["--home", ben, "receive", "--wait", "0.2"]);
    assert.deepEqual([nothing.code, nothing.out], [0, ""]);

    const shown = await run(edge, ["--home", ann, "--json", "verify", "ben"]);
    const view = JSON.parse(shown.out);
    assert.equal(view.state, "changed");
    assert.notEqual(view.newSafetyNumber, view.safetyNumber);
    const who = await run(edge, ["--home", ann, "--json", "who", "--last-hour"]);
    assert.equal(who.stdout.map((l) => JSON.parse(l)).find((l) => l.user === "ben")?.trust, "changed");

    const trusted = await run(edge, ["--home", ann, "trust", "ben"]);
    assert.equal(trusted.code, 0, trusted.err);
    assert(trusted.out.includes(view.safetyNumber) && trusted.out.includes(view.newSafetyNumber), trusted.out);

    const sent = await run(edge, ["--home", ann, "send", "ben", "it is you"]);
    assert.equal(sent.code, 0, sent.err);
    const got = await run(edge, ["--home", ben, "receive", "--wait", "0.2"]);
    assert.match(got.out, /ann: it is you/);

    const marked = await run(edge, ["--home", ann, "--json", "verify", "ben", "--mark-verified"]);
    assert.deepEqual([JSON.parse(marked.out).state, JSON.parse(marked.out).safetyNumber], ["verified", view.newSafetyNumber]);
    const human = await run(edge, ["--home", ann, "who", "--last-hour"]);
    assert.match(human.out, /^ben .*\(verified\)$/m);
  });

  it("says so when there is nothing to trust or nobody of that name, and takes the words in the shell", async () => {
    const cat = await world.registered("cat");
    await world.registered("dan");
    const nobody = await run(edge, ["--home", cat, "--json", "trust", "dan"]);
    assert.deepEqual([nobody.code, JSON.parse(nobody.err).error], [1, "NOT_A_CONTACT"]);
    const shell = await run(edge, ["--home", cat, "--json"], { stdin: "verify dan --mark-verified\ntrust dan\nverify dan --sideways\n" });
    const lines = shell.stdout.map((l) => JSON.parse(l));
    assert.equal(lines[0].state, "verified");
    assert.deepEqual([lines[1].user, lines[1].accepted], ["dan", false]);
    assert.equal(JSON.parse(shell.err).error, "USAGE");
  });
});
