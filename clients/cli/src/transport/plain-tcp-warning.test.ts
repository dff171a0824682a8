import assert from "node:assert/strict";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Dialer } from "./connection.ts";
import { isLoopback } from "./plain-tcp-warning.ts";
import { run, tempDir, type Target } from "../testing/harness.ts";

const PW = "correct horse battery\n";
const WARNING = /plain TCP: messages stay end-to-end encrypted, but your login, who talks to whom and when are visible on the network; use --server tls:\/\//;

/** Records every address dialled and answers none, so each run ends at "no edge answered". */
function refusing(): { target: (server: string) => Target; dialled: string[] } {
  const dialled: string[] = [];
  const dial: Dialer = async (address) => {
    dialled.push(`${address.tls === true ? "tls://" : ""}${address.host}:${address.port}`);
    throw Object.assign(new Error(`connect ECONNREFUSED ${address.host}:${address.port}`), { code: "ECONNREFUSED" });
  };
  return { target: (server) => ({ server, dial }), dialled };
}

const warnings = (stderr: string): string[] => stderr.split("\n").filter((l) => WARNING.test(l));

describe("the plain TCP warning", () => {
  it("knows loopback: 127.0.0.0/8, ::1 in any spelling, localhost; nothing else", () => {
    for (const host of ["127.0.0.1", "127.9.8.7", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "localhost", "LOCALHOST", "localhost."]) {
      assert.equal(isLoopback(host), true, host);
    }
    for (const host of ["10.0.0.1", "192.168.1.2", "128.0.0.1", "::2", "::ffff:10.0.0.1", "fe80::1", "0.0.0.0", "edge.example", "localhost.example", "127.0.0.1.nip.io"]) {
      assert.equal(isLoopback(host), false, host);
    }
  });

  it("warns once per home, on stderr only, when a command dials plain TCP beyond loopback", async () => {
    await using dir = await tempDir();
    const home = join(dir.path, "home");
    const edges = refusing();
    const target = edges.target("edge.example:7400,10.1.2.3:7400");

    const first = await run(target, ["--home", home, "--json", "login", "alice", "--password-stdin"], { stdin: PW });
    assert.equal(first.code, 69, first.err);
    assert.ok(edges.dialled.length >= 2, "both edges were tried");
    const shown = warnings(first.err);
    assert.equal(shown.length, 1, `one warning, however many edges are dialled: ${first.err}`);
    assert.match(shown[0]!, /^warning: (edge\.example|10\.1\.2\.3):7400 is plain TCP/);
    assert.doesNotMatch(first.out, /plain TCP/, "never in --json stdout");

    const marker = (await readdir(home)).filter((name) => /plain-tcp/.test(name));
    assert.equal(marker.length, 1, "the home keeps a marker");
    assert.equal((await stat(join(home, marker[0]!))).mode & 0o777, 0o600, "the marker is 0600 like everything in the home");

    const second = await run(target, ["--home", home, "login", "alice", "--password-stdin"], { stdin: PW });
    assert.equal(second.code, 69, second.err);
    assert.deepEqual(warnings(second.err), [], "not again in the same home");

    const elsewhere = await run(target, ["--home", join(dir.path, "other"), "login", "alice", "--password-stdin"], { stdin: PW });
    assert.equal(warnings(elsewhere.err).length, 1, "another home is warned on its own");
  });

  it("says nothing for TLS or for loopback, and leaves no marker", async () => {
    await using dir = await tempDir();
    for (const server of ["tls://edge.example:7443,tls://10.1.2.3", "127.0.0.1:7400,[::1]:7401,localhost:7402"]) {
      const home = join(dir.path, server.startsWith("tls") ? "tls" : "loopback");
      const edges = refusing();
      const r = await run(edges.target(server), ["--home", home, "login", "alice", "--password-stdin"], { stdin: PW });
      assert.equal(r.code, 69, r.err);
      assert.ok(edges.dialled.length >= 3 || server.startsWith("tls"), `every edge was tried: ${edges.dialled.join(" ")}`);
      assert.deepEqual(warnings(r.err), [], `${server}: ${r.err}`);
      assert.deepEqual((await readdir(home)).filter((name) => /plain-tcp/.test(name)), [], "no marker");
    }
  });
});
