/**
 * What the Dockerfile builds, checked without a container engine: the build context
 * holds every source the bundles need and no secrets; the install stage sees every
 * workspace; deploy/build.ts bundles each service so that it imports only packages the
 * production install provides; and the bundles, run by plain node as the image runs them
 * (no tsx), migrate, connect and turn ready against real NATS and Postgres, then stop
 * cleanly on SIGTERM. Also: deploy/make-jwt-keys.mjs makes keys auth accepts.
 */
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { freePort, testServices, type TestServices } from "@natter/kit/testing";
import { buildServices, packageName, SERVICES, type BuiltService } from "../../deploy/build.ts";
import { AuthEnv } from "../../services/auth/src/config.ts";
import { RawClient } from "../support/raw-client.ts";
import { root } from "./support.ts";

const run = promisify(execFile);

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  workspaces?: string[];
}

const readManifest = (dir: string) => JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8")) as Manifest;

/** Every workspace folder (packages/kit, services/auth, ...) by package name. */
function workspaces(): Map<string, string> {
  const found = new Map<string, string>();
  for (const pattern of readManifest(".").workspaces ?? []) {
    const parent = pattern.replace(/\/\*$/, "");
    for (const entry of readdirSync(join(root, parent))) {
      const dir = `${parent}/${entry}`;
      if (existsSync(join(root, dir, "package.json"))) found.set(readManifest(dir).name, dir);
    }
  }
  return found;
}

/** Packages `npm ci --omit=dev --workspace=<dirs>` installs directly for `dirs` (through @natter/* links too). */
function productionPackages(dirs: readonly string[], byName = workspaces()): Set<string> {
  const out = new Set<string>();
  const seen = new Set<string>();
  const visit = (dir: string) => {
    if (seen.has(dir)) return;
    seen.add(dir);
    for (const dep of Object.keys(readManifest(dir).dependencies ?? {})) {
      const workspace = byName.get(dep);
      if (workspace) visit(workspace);
      else out.add(dep);
    }
  };
  dirs.forEach(visit);
  return out;
}

/** A .dockerignore pattern as docker reads it: `*` within a name, `**` across folders. */
function dockerPattern(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (pattern.startsWith("**/", i)) (re += "(?:.*/)?"), (i += 2);
    else if (pattern.startsWith("**", i)) (re += ".*"), (i += 1);
    else if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else re += ch.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** Whether the build context includes `path`: the last pattern matching it or a parent folder decides. */
function inContext(path: string, rules: ReadonlyArray<{ negate: boolean; re: RegExp }>): boolean {
  const prefixes = path.split("/").map((_, i, parts) => parts.slice(0, i + 1).join("/"));
  let included = true;
  for (const rule of rules) if (prefixes.some((p) => rule.re.test(p))) included = rule.negate;
  return included;
}

function dockerignore(): Array<{ negate: boolean; re: RegExp }> {
  return readFileSync(join(root, ".dockerignore"), "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => ({ negate: line.startsWith("!"), re: dockerPattern(line.replace(/^!/, "")) }));
}

describe("the natter image", () => {
  let out = "";
  let built: BuiltService[] = [];
  before(async () => {
    out = await mkdtemp(join(tmpdir(), "natter-image-"));
    built = await buildServices(out);
  });
  after(() => rm(out, { recursive: true, force: true }));

  it("copies every workspace's package.json before npm ci", () => {
    const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
    for (const dir of workspaces().values()) {
      assert.ok(dockerfile.includes(`COPY ${dir}/package.json ${dir}/\n`), `Dockerfile lacks: COPY ${dir}/package.json ${dir}/`);
    }
  });

  it("has in its build context every source the bundles read, and no secrets or local state", () => {
    const rules = dockerignore();
    const needed = new Set(["package.json", "package-lock.json", "tsconfig.json", "tsconfig.base.json", "deploy/build.ts", "deploy/docker-entrypoint.sh"]);
    for (const dir of workspaces().values()) needed.add(`${dir}/package.json`);
    for (const b of built) {
      for (const input of Object.keys(b.metafile.inputs)) needed.add(input);
      const migrations = join(root, "services", b.service, "migrations");
      if (existsSync(migrations)) for (const f of readdirSync(migrations)) needed.add(`services/${b.service}/migrations/${f}`);
    }
    const left = [...needed].filter((path) => !inContext(path, rules));
    assert.deepEqual(left, [], "left out of the build context by .dockerignore");
    for (const path of ["deploy/.env", ".natter-dev/jwt-keys.json", "node_modules/pg/package.json", ".git/config", "services/auth/dist/main.mjs", "services/auth/src/config.test.ts", "test/deploy/env.test.ts"]) {
      assert.ok(!inContext(path, rules), `${path} is in the build context`);
    }
  });

  it("admits folders in .dockerignore by name, as the classic builder needs", () => {
    // The classic builder (Debian's docker.io) skips an excluded folder unless a `!` line
    // starts with its literal path: `!services/*/src` would admit nothing.
    const admitted = readFileSync(join(root, ".dockerignore"), "utf8").split("\n").filter((line) => line.startsWith("!"));
    const wild = admitted.filter((line) => /[*?[]/.test(line.slice(0, line.lastIndexOf("/") + 1)));
    assert.deepEqual(wild, [], "a wildcard in a folder of a `!` line");
  });

  it("bundles the workspace packages and leaves only production dependencies to node_modules", () => {
    const installed = productionPackages(SERVICES.map((s) => `services/${s}`));
    for (const b of built) {
      assert.ok(!b.externals.some((name) => name.startsWith("@natter/")), `${b.service} imports a workspace package at run time`);
      const missing = b.externals.filter((name) => !installed.has(name));
      assert.deepEqual(missing, [], `${b.service} imports packages the production install does not provide`);
    }
  });

  it("has every workspace declare the packages its code imports at run time", (t) => {
    const byDir = new Map([...workspaces()].map(([, dir]) => [dir, readManifest(dir)]));
    const undeclared = new Map<string, Set<string>>();
    for (const b of built) {
      for (const [input, { imports }] of Object.entries(b.metafile.inputs)) {
        const dir = input.split("/").slice(0, 2).join("/");
        const manifest = byDir.get(dir);
        if (!manifest) continue;
        for (const imported of imports) {
          if (!imported.external || imported.path.startsWith("node:")) continue;
          const name = packageName(imported.path);
          if (!manifest.dependencies?.[name]) undeclared.set(dir, (undeclared.get(dir) ?? new Set()).add(name));
        }
      }
    }
    if (undeclared.size > 0) {
      // They install today only because a sibling workspace declares them: reported as a
      // to-do for the workspace's owner rather than failing the deployment checks.
      const list = [...undeclared].map(([dir, names]) => `${dir}: ${[...names].sort().join(", ")}`).join("; ");
      t.todo(`undeclared run-time dependencies (${list})`);
    }
  });

  describe("bundles on plain node", () => {
    let services: TestServices;
    const children: ChildProcess[] = [];
    before(async () => {
      services = await testServices();
      // The image's node_modules holds a subset of this one (checked above).
      await symlink(join(root, "node_modules"), join(out, "node_modules"), "dir");
    });
    after(async () => {
      for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
      await services?.cleanup();
    });

    it("migrate, connect, turn ready, serve a client and stop cleanly on SIGTERM", async () => {
      const jwtKeys = (await run(process.execPath, ["deploy/make-jwt-keys.mjs", "--json"], { cwd: root })).stdout.trim();
      const common = { NATS_URL: services.natsUrl, NATTER_NAMESPACE: services.namespace, LOG_LEVEL: "info" };
      const withDb = { ...common, DATABASE_URL: services.databaseUrl };
      const healthPorts = Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [s, await freePort()] as const)));
      const envs: Record<(typeof SERVICES)[number], Record<string, string>> = {
        auth: { ...withDb, AUTH_JWT_KEYS: jwtKeys, AUTH_HEALTH_PORT: String(healthPorts["auth"]) },
        group: { ...withDb, GROUP_HEALTH_PORT: String(healthPorts["group"]) },
        presence: { ...withDb, PRESENCE_HEALTH_PORT: String(healthPorts["presence"]) },
        edge: { ...common, EDGE_PORT: "0", EDGE_NAME: "edge-image-test", EDGE_HEALTH_PORT: String(healthPorts["edge"]), EDGE_DRAIN_MS: "500" },
      };

      const logs: string[] = [];
      let edgePort: number | undefined;
      const exited = SERVICES.map((service) => {
        // As deploy/docker-entrypoint.sh runs it, from a tree laid out like the image's /app.
        const child = spawn(process.execPath, ["--enable-source-maps", join(out, "services", service, "dist", "main.mjs")], {
          cwd: out,
          env: { PATH: process.env["PATH"] ?? "", ...envs[service] },
          stdio: ["ignore", "pipe", "pipe"],
        });
        children.push(child);
        for (const stream of [child.stdout!, child.stderr!]) {
          createInterface({ input: stream }).on("line", (line) => {
            logs.push(`${service}: ${line}`);
            if (line.includes('"edge listening"')) edgePort = (JSON.parse(line) as { port: number }).port;
          });
        }
        return new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      });

      const deadline = Date.now() + 30_000;
      for (const service of SERVICES) {
        let status = 0;
        while (Date.now() < deadline) {
          status = await fetch(`http://127.0.0.1:${healthPorts[service]}/readyz`).then((r) => r.status, () => 0);
          if (status === 200) break;
          if (children.some((c) => c.exitCode !== null)) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        assert.equal(status, 200, `${service} is not ready:\n${logs.slice(-20).join("\n")}`);
      }
      assert.ok(edgePort, "the edge said where it listens");
      const client = await RawClient.connect(`127.0.0.1:${edgePort}`);
      client.socket.destroy();

      for (const child of children) child.kill("SIGTERM");
      const codes = await Promise.all(exited);
      assert.deepEqual(codes, [0, 0, 0, 0], `exit codes of ${SERVICES.join(", ")}:\n${logs.slice(-20).join("\n")}`);
    });
  });

  it("gets signing keys from make-jwt-keys that auth accepts, in both forms", async () => {
    const script = join(root, "deploy", "make-jwt-keys.mjs");
    const json = (await run(process.execPath, [script, "--json"])).stdout.trim();
    const base = { DATABASE_URL: "postgres://x@y/z" };
    assert.ok(AuthEnv.safeParse({ ...base, AUTH_JWT_KEYS: json }).success);

    // The .env form also makes the edges' TLS: into a scratch folder, not the developer's deploy/tls.
    const tlsDir = await mkdtemp(join(tmpdir(), "natter-jwt-tls-"));
    const [line, ...natsLines] = (await run(process.execPath, [script, "--tls-dir", tlsDir]).finally(() => rm(tlsDir, { recursive: true, force: true }))).stdout.trim().split("\n");
    const quoted = /^AUTH_JWT_KEYS='(\[.*\])'$/.exec(line ?? "");
    assert.ok(quoted, "a single-quoted .env line");
    assert.deepEqual(natsLines.map((l) => l.split("=")[0]), ["NATS_AUTH_PASSWORD", "NATS_GROUP_PASSWORD", "NATS_PRESENCE_PASSWORD", "NATS_EDGE_PASSWORD"]);
    assert.ok(AuthEnv.safeParse({ ...base, AUTH_JWT_KEYS: quoted[1] }).success);

    const rotated = JSON.parse((await run(process.execPath, [script, "--json", "--add", json])).stdout) as Array<{ kid: string }>;
    const old = JSON.parse(json) as Array<{ kid: string }>;
    assert.equal(rotated.length, 2);
    assert.equal(rotated[1]!.kid, old[0]!.kid, "the new key signs, the old one still verifies");
    assert.ok(AuthEnv.safeParse({ ...base, AUTH_JWT_KEYS: JSON.stringify(rotated) }).success);
  });
});
