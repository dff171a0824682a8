/**
 * The `natter` command as installed: the bundle `npm ci` makes (clients/cli/build.ts), run
 * as a child process through the bin, against the real services.
 */
import assert from "node:assert/strict";
import { readFile, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { buildCli } from "../../clients/cli/build.ts";
import { natter, newHome } from "../support/cli.ts";
import { CliWorld, PASSWORD } from "../support/cli-world.ts";

const cli = resolve(import.meta.dirname, "../../clients/cli");

describe("the natter bundle, run as a process", () => {
  let world: CliWorld;

  before(async () => {
    world = await CliWorld.start();
  });
  after(async () => {
    await world?.stop();
  });

  it("is built from every source it runs, and prints the version", async () => {
    const built = await buildCli();
    const { builtAt, inputs } = JSON.parse(await readFile(resolve(built.dir, "inputs.json"), "utf8")) as { builtAt: number; inputs: string[] };
    assert.ok(inputs.includes("clients/cli/src/main.ts") && inputs.includes("clients/cli/src/history.ts"));
    assert.ok(!inputs.some((p) => p.includes("better-sqlite3") || p.includes("@node-rs/argon2")), "native addons stay in node_modules");
    assert.ok((await stat(resolve(built.dir, "main.mjs"))).mtimeMs >= builtAt);
    const { version } = JSON.parse(await readFile(resolve(cli, "package.json"), "utf8")) as { version: string };
    const r = await natter(newHome(), world.servers.address(), ["--version"]);
    assert.deepEqual([r.code, r.stdout], [0, `${version}\n`]);
  });

  it("registers, sends, keeps history and searches it", async () => {
    const server = world.servers.address();
    const [ann, ben] = [newHome(), newHome()];
    for (const [home, name] of [[ann, "bundleann"], [ben, "bundleben"]] as const) {
      const r = await natter(home, server, ["register", name, "--password-stdin"], { stdin: `${PASSWORD}\n` });
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal((await natter(ann, server, ["send", "bundleben", "from the bundle"])).code, 0);
    const got = await natter(ben, server, ["receive", "--wait", "1"]);
    assert.ok(got.json.some((l) => l.text === "from the bundle"), got.stderr);
    const found = await natter(ben, server, ["search", "bundle"]);
    assert.deepEqual(found.json.map((l) => [l.from, l.text]), [["bundleann", "from the bundle"]]);
  });
});
