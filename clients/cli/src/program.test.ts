import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { nowhere, run, tempDir } from "./testing/harness.ts";

const PW = "correct horse battery";

// What natter decides before it reaches any edge; with a server, see test/cli/program.test.ts.
describe("natter, run in process with no edge answering", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let n = 0;
  const home = (name: string): string => join(dir.path, `${name}-${n++}`);

  before(async () => {
    dir = await tempDir();
  });
  after(async () => {
    await dir[Symbol.asyncDispose]();
  });

  it("says who is not logged in, and exits 2", async () => {
    const r = await run(nowhere, ["--home", home("nobody"), "send", "bob", "hi"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /^natter: not logged in/);
  });

  it("exits 69 with the seeds' words when no edge answers", async () => {
    const r = await run(nowhere, ["--home", home("x"), "login", "bob", "--password-stdin"], { stdin: PW, server: "127.0.0.1:1,[::1]:2" });
    assert.deepEqual([r.code, r.err], [69, "Sorry, no services available\n"]);
  });

  it("takes no password from the command line", async () => {
    const r = await run(nowhere, ["--home", home("x"), "login", "vera", "--password", "hunter22"]);
    assert.equal(r.code, 1);
    assert.doesNotMatch(r.err, /hunter22/);
    const noTty = await run(nowhere, ["--home", home("x"), "login", "vera"]);
    assert.equal(noTty.code, 1);
    assert.match(noTty.err, /--password-stdin/);
  });

  it("checks the username and password before contacting anyone", async () => {
    const bad = await run(nowhere, ["--home", home("x"), "register", "No Spaces", "--password-stdin"], { stdin: PW });
    assert.equal(bad.code, 1);
    assert.match(bad.err, /a username is 3 to 32 characters/);
    const short = await run(nowhere, ["--home", home("x"), "register", "wendy", "--password-stdin"], { stdin: "short\n" });
    assert.deepEqual([short.code, short.err], [1, "natter: a password needs at least 8 bytes\n"]);
  });

  it("prints usage errors in the output mode asked for", async () => {
    const r = await run(nowhere, ["--json", "send"]);
    assert.equal(r.code, 1);
    assert.equal(JSON.parse(r.err).error, "USAGE");
    const help = await run(nowhere, ["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.out, /Usage: natter/);
  });

  it("prints its version with -V and --version", async () => {
    const { version } = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
    for (const flag of ["-V", "--version"]) assert.deepEqual(await run(nowhere, [flag]), { code: 0, out: `${version}\n`, err: "", stdout: [version] });
  });

  it("refuses a bad setting or value, and a history limit or time it cannot read, before anything else", async () => {
    const h = home("cfg");
    assert.deepEqual((await run(nowhere, ["--home", h, "config", "colour", "on"])).err, "natter: unknown setting colour (settings: read-receipts)\n");
    assert.deepEqual((await run(nowhere, ["--home", h, "config", "read-receipts", "maybe"])).err, "natter: config read-receipts on|off\n");
    assert.deepEqual((await run(nowhere, ["--home", h, "--json", "config"])).stdout, ['{"setting":"read-receipts","value":"on"}']);
    assert.equal((await run(nowhere, ["--home", h, "history", "bob", "--before", "last tuesday"])).code, 1);
    assert.equal((await run(nowhere, ["--home", h, "history", "b"])).err, "natter: a username is 3 to 32 characters of a-z, 0-9, '_', '.' and '-'\n");
  });
});
