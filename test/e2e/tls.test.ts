/**
 * End to end over TLS: edges with a certificate from a throwaway CA, and real `natter`
 * processes that dial `tls://` and trust that CA only when told to (`--ca`).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFixture, type Fixture } from "../support/stack-fixture.ts";
import { natter, newHome } from "../support/cli.ts";

const PASSWORD = "correct horse battery";
let fx: Fixture;
let certs: string;
let ca: string;
let tls: string;

/** A CA and an edge certificate for 127.0.0.1 signed by it (P-256, valid for a day). */
function makeCertificates(dir: string): void {
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"];
  openssl("req", "-x509", ...key, "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=natter test CA");
  openssl("req", "-x509", ...key, "-keyout", "edge.key", "-out", "edge.pem", "-subj", "/CN=127.0.0.1",
    "-CA", "ca.pem", "-CAkey", "ca.key", "-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:FALSE");
}

before(async () => {
  certs = mkdtempSync(join(tmpdir(), "natter-tls-"));
  makeCertificates(certs);
  ca = join(certs, "ca.pem");
  fx = await startFixture({ edges: 1, env: { EDGE_TLS_CERT: join(certs, "edge.pem"), EDGE_TLS_KEY: join(certs, "edge.key") } });
  tls = `tls://${fx.stack.edges[0]!.address}`;
});

after(async () => {
  await fx?.stop();
  if (certs) rmSync(certs, { recursive: true, force: true });
});

describe("TLS between natter and the edges", () => {
  let ann: string;

  it("registers, sends and receives over tls:// with the edge's CA given by --ca", async () => {
    ann = newHome();
    const bob = newHome();
    for (const [home, name] of [[ann, "ann"], [bob, "bob"]] as const) {
      const r = await natter(home, tls, ["--ca", ca, "register", name, "--password-stdin"], { stdin: `${PASSWORD}\n` });
      assert.equal(r.code, 0, `register ${name}: ${r.stderr}`);
    }
    const sent = await natter(ann, tls, ["--ca", ca, "send", "bob", "over tls"]);
    assert.equal(sent.code, 0, sent.stderr);
    const got = await natter(bob, tls, ["--ca", ca, "receive", "--wait", "1"]);
    assert.equal(got.code, 0, got.stderr);
    assert.deepEqual(got.json.map((l) => [l["from"], l["text"]]), [["ann", "over tls"]]);
  });

  it("refuses an edge whose certificate it cannot verify (exit 1), and says how to fix it", async () => {
    const r = await natter(ann, tls, ["send", "bob", "not without the CA"]);
    assert.equal(r.code, 1, r.stderr);
    const error = JSON.parse(r.stderr.trim().split("\n").pop()!) as { error: string; message: string };
    assert.equal(error.error, "TLS_UNTRUSTED");
    assert.match(error.message, /not trusted.*--ca/);
  });

  it("finds no service in plain TCP at a TLS edge (exit 69)", async () => {
    const r = await natter(ann, fx.stack.edges[0]!.address, ["send", "bob", "in the clear"]);
    assert.equal(r.code, 69, r.stderr);
  });
});
