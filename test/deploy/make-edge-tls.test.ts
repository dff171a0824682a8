/**
 * The edges' TLS that deploy/make-jwt-keys.mjs makes for compose: a CA and an edge
 * certificate that the CLI's own dialer accepts with `--ca ca.crt` (and refuses without
 * it), for localhost, 127.0.0.1, ::1 and any --tls-host; the key 0600; kept on a second
 * run so clients keep trusting the same CA; the CA's key not left behind.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createServer, type Server } from "node:tls";
import { promisify } from "node:util";
import { dial } from "../../clients/cli/src/transport/dial.ts";
import { root, which } from "./support.ts";

const run = promisify(execFile);
const script = join(root, "deploy", "make-jwt-keys.mjs");
const noOpenssl = which("openssl") ? false : "openssl is not installed";

describe("make-jwt-keys.mjs: the edges' TLS for compose", { skip: noOpenssl }, () => {
  let scratch = "";
  let dir = "";
  let server: Server;
  let port = 0;
  let firstRun = { stdout: "", stderr: "" };

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), "natter-edge-tls-"));
    dir = join(scratch, "tls");
    firstRun = await run(process.execPath, [script, "--tls-dir", dir, "--tls-host", "edge.example", "--tls-host", "10.9.8.7"], { cwd: root });
    const [cert, key] = await Promise.all([readFile(join(dir, "edge.crt")), readFile(join(dir, "edge.key"))]);
    server = createServer({ cert, key }, (socket) => socket.end("natter"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await rm(scratch, { recursive: true, force: true });
  });

  it("still prints the .env lines (the key, each NATS password), and says on stderr how clients connect", () => {
    assert.match(firstRun.stdout, /^AUTH_JWT_KEYS='\[.*\]'\n(NATS_(AUTH|GROUP|PRESENCE|EDGE)_PASSWORD=n[0-9a-f]{48}\n){4}$/);
    assert.match(firstRun.stderr, /--server tls:\/\/<host>:7400 --ca .*ca\.crt/);
    assert.doesNotMatch(firstRun.stderr, /PRIVATE KEY/);
  });

  it("leaves the CA certificate, the edge certificate and its key (0600), and no CA key", async () => {
    assert.deepEqual((await readdir(dir)).sort(), ["ca.crt", "edge.crt", "edge.key"]);
    assert.equal((await stat(join(dir, "edge.key"))).mode & 0o777, 0o600);
  });

  it("names localhost, the loopback addresses and every --tls-host, for a server only", async () => {
    const cert = new X509Certificate(await readFile(join(dir, "edge.crt")));
    const ca = new X509Certificate(await readFile(join(dir, "ca.crt")));
    assert.ok(cert.verify(ca.publicKey), "signed by the CA");
    assert.equal(cert.ca, false);
    assert.equal(ca.ca, true);
    for (const name of ["localhost", "edge.example"]) assert.equal(cert.checkHost(name), name, name);
    for (const ip of ["127.0.0.1", "::1", "10.9.8.7"]) assert.ok(cert.checkIP(ip), ip);
    assert.equal(cert.checkHost("other.example"), undefined);
    assert.ok(cert.keyUsage?.includes("1.3.6.1.5.5.7.3.1"), "serverAuth");
  });

  it("is trusted by the CLI's dialer given --ca ca.crt, for 127.0.0.1 and localhost", async () => {
    const ca = new Uint8Array(await readFile(join(dir, "ca.crt")));
    for (const host of ["127.0.0.1", "localhost"]) {
      const socket = await dial({ host, port, tls: true }, { ca });
      const hello = await new Promise<string>((resolve) => socket.once("data", (d: Buffer) => resolve(d.toString())));
      assert.equal(hello, "natter", host);
      socket.destroy();
    }
  });

  it("is refused by the CLI's dialer without the CA", async () => {
    await assert.rejects(dial({ host: "127.0.0.1", port, tls: true }), { code: "TLS_UNTRUSTED" });
  });

  it("keeps the same CA and certificate on a second run, and makes new ones with --new-tls", async () => {
    const before = await readFile(join(dir, "ca.crt"), "utf8");
    const kept = await run(process.execPath, [script, "--tls-dir", dir], { cwd: root });
    assert.match(kept.stderr, /kept the edges' TLS/);
    assert.equal(await readFile(join(dir, "ca.crt"), "utf8"), before);
    await run(process.execPath, [script, "--json", "--tls-dir", dir, "--new-tls"], { cwd: root });
    assert.notEqual(await readFile(join(dir, "ca.crt"), "utf8"), before);
  });

  it("makes no TLS with --json unless asked", async () => {
    const { stdout, stderr } = await run(process.execPath, [script, "--json"], { cwd: root });
    assert.match(stdout, /^\[.*\]\n$/);
    assert.equal(stderr, "", "no TLS made, nothing said");
  });

  it("refuses a --tls-host that is not a name or an address", async () => {
    await assert.rejects(run(process.execPath, [script, "--tls-dir", join(scratch, "bad"), "--tls-host", "a b/c"], { cwd: root }), (err: { stderr?: string }) => {
      assert.match(err.stderr ?? "", /not a host name or IP address/);
      return true;
    });
  });
});
