#!/usr/bin/env node
// Makes a fresh Ed25519 signing key for auth's AUTH_JWT_KEYS (a JSON array of private
// JWKs with `kid`; the first signs, all verify), and for compose each service's NATS
// password and the edges' TLS: a CA and an edge certificate signed by it. Run from the
// repository after `npm ci`.
//
//   node deploy/make-jwt-keys.mjs > deploy/.env          compose: AUTH_JWT_KEYS='[...]',
//                                                        NATS_<SERVICE>_PASSWORD=..., and
//                                                        deploy/tls/{ca.crt,edge.crt,edge.key}
//   node deploy/make-jwt-keys.mjs --json                 the bare JSON array (Kubernetes), no TLS
//   node deploy/make-jwt-keys.mjs --json --add "$OLD"    a new signing key first, then the old ones
//   node deploy/make-jwt-keys.mjs --nats-passwords       only the NATS passwords, NAME=value a line:
//                                                        append them to an older deploy/.env, or
//                                                        make Kubernetes' natter-nats-users from them
//
//   --tls-dir <dir>     where the TLS files go (compose: deploy/tls; with --json, only if given)
//   --tls-host <name>   a name or IP address the edges are reached by, besides localhost,
//                       127.0.0.1 and ::1 (repeat it for more)
//   --new-tls           make a new CA and certificate even if <dir> has them (clients must
//                       then be given the new ca.crt)
//
// Existing TLS files are kept, so making a new signing key does not change the CA that
// clients trust. The output, and edge.key, are secrets: keep them out of version control
// and logs. openssl makes the certificates (node:crypto cannot).
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { register } from "tsx/esm/api";
import { makeEdgeTls } from "./make-edge-tls.mjs";

const { values } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    add: { type: "string" },
    "tls-dir": { type: "string" },
    "tls-host": { type: "string", multiple: true, default: [] },
    "new-tls": { type: "boolean", default: false },
    "nats-passwords": { type: "boolean", default: false },
  },
});

// The key is made by auth's own code, and the NATS users are listed by deploy/nats, both TypeScript.
register();
const { NATS_USERS, newNatsPassword, passwordVariable } = await import("./nats/permissions.ts");
/** Each service's NATS password, `NAME=value` lines (letters and digits, no quoting needed). */
const natsPasswords = () => NATS_USERS.map((user) => `${passwordVariable(user)}=${newNatsPassword()}\n`).join("");

if (values["nats-passwords"]) {
  process.stdout.write(natsPasswords());
  process.exit(0);
}
const { generateSigningKey } = await import("@natter/auth");

const keys = [await generateSigningKey()];
if (values.add) {
  const old = JSON.parse(values.add);
  if (!Array.isArray(old)) throw new Error("--add takes the current AUTH_JWT_KEYS (a JSON array)");
  keys.push(...old);
}

const tlsDir = values["tls-dir"] ?? (values.json ? undefined : fileURLToPath(new URL("./tls/", import.meta.url)));
if (tlsDir !== undefined) {
  const made = makeEdgeTls(tlsDir, { hosts: values["tls-host"], renew: values["new-tls"] });
  process.stderr.write(
    made
      ? `made the edges' TLS in ${tlsDir}: clients connect with --server tls://<host>:7400 --ca ${tlsDir.replace(/\/$/, "")}/ca.crt\n`
      : `kept the edges' TLS in ${tlsDir} (--new-tls makes a new one)\n`,
  );
}

const json = JSON.stringify(keys);
// Single quotes: compose's .env reader takes the value literally, quotes and all.
process.stdout.write(values.json ? `${json}\n` : `AUTH_JWT_KEYS='${json}'\n${natsPasswords()}`);
