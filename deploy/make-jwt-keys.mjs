#!/usr/bin/env node
// Makes a fresh Ed25519 signing key for auth's AUTH_JWT_KEYS (a JSON array of private
// JWKs with `kid`; the first signs, all verify). Run from the repository after `npm ci`.
//
//   node deploy/make-jwt-keys.mjs > deploy/.env          compose: AUTH_JWT_KEYS='[...]'
//   node deploy/make-jwt-keys.mjs --json                 the bare JSON array (Kubernetes)
//   node deploy/make-jwt-keys.mjs --json --add "$OLD"    a new signing key first, then the old ones
//
// The output is a secret: keep it out of version control and logs.
import { parseArgs } from "node:util";
import { register } from "tsx/esm/api";

const { values } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    add: { type: "string" },
  },
});

// The key is made by auth's own code, which is TypeScript.
register();
const { generateSigningKey } = await import("@natter/auth");

const keys = [await generateSigningKey()];
if (values.add) {
  const old = JSON.parse(values.add);
  if (!Array.isArray(old)) throw new Error("--add takes the current AUTH_JWT_KEYS (a JSON array)");
  keys.push(...old);
}
const json = JSON.stringify(keys);
// Single quotes: compose's .env reader takes the value literally, quotes and all.
process.stdout.write(values.json ? `${json}\n` : `AUTH_JWT_KEYS='${json}'\n`);
