// The edges' TLS for compose: a private CA (its key thrown away once it has signed, so
// nobody can mint another certificate it vouches for) and an edge certificate for
// localhost, 127.0.0.1, ::1 and any names given. openssl does the X.509 work.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";

/** The files made, each a PEM. */
export const TLS_FILES = { ca: "ca.crt", cert: "edge.crt", key: "edge.key" };

/** The natter image's user (Dockerfile: USER 1000:1000), which must read edge.key. */
const IMAGE_UID = 1000;
const IMAGE_GID = 1000;

const CA_DAYS = 3650;
// Clients and browsers alike cap a leaf at about two years.
const EDGE_DAYS = 825;

/**
 * Makes ca.crt, edge.crt and edge.key in `dir` unless all three are there already (or
 * `renew`); answers whether it made them. edge.key is 0600, and owned by the image's
 * user when run as root so that the edge container can read it.
 */
export function makeEdgeTls(dir, { hosts = [], renew = false } = {}) {
  const paths = Object.fromEntries(Object.entries(TLS_FILES).map(([k, f]) => [k, join(dir, f)]));
  if (!renew && Object.values(paths).every((p) => existsSync(p))) return false;
  for (const host of hosts) {
    if (!/^[A-Za-z0-9.:-]+$/.test(host)) throw new Error(`--tls-host: not a host name or IP address: ${host}`);
  }
  const names = [...new Set(["localhost", "127.0.0.1", "::1", ...hosts])];
  const san = names.map((n) => (isIP(n) === 0 ? `DNS:${n}` : `IP:${n}`)).join(",");

  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const work = mkdtempSync(join(dir, ".making-"));
  try {
    const at = (name) => join(work, name);
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    openssl(["req", "-x509", ...ec, "-keyout", at("ca.key"), "-out", at(TLS_FILES.ca), "-days", String(CA_DAYS),
      "-subj", "/CN=natter compose CA",
      "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
      "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    openssl(["req", "-new", ...ec, "-keyout", at(TLS_FILES.key), "-out", at("edge.csr"), "-subj", "/CN=natter edge"]);
    writeFileSync(at("edge.ext"), [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature",
      "extendedKeyUsage=serverAuth",
      `subjectAltName=${san}`,
      "",
    ].join("\n"));
    openssl(["x509", "-req", "-in", at("edge.csr"), "-CA", at(TLS_FILES.ca), "-CAkey", at("ca.key"),
      "-set_serial", `0x${randomBytes(16).toString("hex").replace(/^[89a-f]/, "1")}`,
      "-days", String(EDGE_DAYS), "-extfile", at("edge.ext"), "-out", at(TLS_FILES.cert)]);

    chmodSync(at(TLS_FILES.ca), 0o644);
    chmodSync(at(TLS_FILES.cert), 0o644);
    chmodSync(at(TLS_FILES.key), 0o600);
    if (process.getuid?.() === 0) chownSync(at(TLS_FILES.key), IMAGE_UID, IMAGE_GID);
    else if (process.getuid?.() !== IMAGE_UID) {
      process.stderr.write(`the edge container runs as ${IMAGE_UID}: let it read the key with sudo chown ${IMAGE_UID} ${paths.key}\n`);
    }
    // The key first: a reader never pairs a new certificate with the old key.
    for (const name of [TLS_FILES.key, TLS_FILES.cert, TLS_FILES.ca]) renameSync(at(name), paths[keyOf(name)]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return true;
}

function keyOf(file) {
  return Object.entries(TLS_FILES).find(([, f]) => f === file)[0];
}

function openssl(args) {
  try {
    execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  } catch (err) {
    if (err.code === "ENOENT") throw new Error("openssl is needed to make the edges' certificate (Debian: apt-get install openssl), or bring your own (docs/DEPLOY.md)");
    throw new Error(`openssl ${args[0]} failed: ${String(err.stderr ?? err.message).trim()}`);
  }
}
