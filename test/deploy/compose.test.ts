/**
 * deploy/compose.yaml: docker-compose accepts it, refuses to start without auth's signing
 * keys, and wires what natter needs: NATS 2.12 with JetStream syncing every write on a
 * volume, Postgres 16 on a volume, a healthcheck on every service and start order by
 * health, two edges published on 7400 and 7401 that tell clients those addresses. And
 * deploy/local/compose.yaml over it: the local images, every container on the host
 * network on ports of its own, healthchecks on those ports.
 *
 * Nothing here starts a container: it checks the files (compose-up.test.ts runs them).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { NATS_USERS, passwordVariable } from "../../deploy/nats/permissions.ts";
import { COMPOSE_FILE, deployDir, natterService, readCompose, renderLocalCompose, root, STAND_IN_NATS_PASSWORDS, which, type ComposeFile } from "./support.ts";

const run = promisify(execFile);
const dockerCompose = which("docker-compose");
if (!dockerCompose) console.log("# docker-compose is not installed (.ci/run installs it): compose.yaml is not checked by compose itself");

type Service = ComposeFile["services"][string];
type Healthcheck = { test: string[] | string };
const healthcheck = (s: Service) => s["healthcheck"] as Healthcheck | undefined;
const testCommand = (h: Healthcheck | undefined) => (Array.isArray(h?.test) ? h.test.join(" ") : (h?.test ?? ""));

describe("deploy/compose.yaml", () => {
  let scratch = "";
  let emptyEnvFile = "";
  const keys = '[{"kty":"OKP","crv":"Ed25519","x":"x","d":"d","kid":"test"}]';
  const secrets: Record<string, string> = { AUTH_JWT_KEYS: keys, ...STAND_IN_NATS_PASSWORDS };
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), "natter-compose-"));
    // An empty env file in place of deploy/.env, which a developer may have made.
    emptyEnvFile = join(scratch, "empty.env");
    await writeFile(emptyEnvFile, "");
  });
  after(() => rm(scratch, { recursive: true, force: true }));

  const compose = (env: Record<string, string>) =>
    run("docker-compose", ["--env-file", emptyEnvFile, "-f", COMPOSE_FILE, "config", "-q"], {
      cwd: root,
      env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? scratch, ...env },
    });

  describe("as docker-compose reads it", { skip: dockerCompose ? false : "docker-compose is not installed" }, () => {
    it("is a valid compose file once AUTH_JWT_KEYS and the NATS passwords are given", async () => {
      await compose(secrets);
    });

    it("refuses to go without AUTH_JWT_KEYS, saying how to make it", async () => {
      await assert.rejects(compose({ ...STAND_IN_NATS_PASSWORDS }), (err: { stderr?: string }) => {
        assert.match(err.stderr ?? "", /AUTH_JWT_KEYS.*make-jwt-keys\.mjs/);
        return true;
      });
    });

    it("refuses to go without each NATS password, saying how to make it", async () => {
      for (const user of NATS_USERS) {
        const { [passwordVariable(user)]: _missing, ...rest } = secrets;
        await assert.rejects(compose(rest), (err: { stderr?: string }) => {
          assert.match(err.stderr ?? "", new RegExp(`${passwordVariable(user)}.*make-jwt-keys\\.mjs --nats-passwords`), user);
          return true;
        });
      }
    });
  });

  describe("its services", () => {
    const file = readCompose(secrets);
    const services = file.services;
    const natter = Object.entries(services).filter(([, s]) => natterService(s.image ?? "", s.command as string[] | undefined));
    const env = (s: Service) => (s.environment ?? {}) as Record<string, string>;

    it("runs NATS 2.12 with JetStream on a volume, syncing every write", async () => {
      const nats = services["nats"]!;
      assert.match(nats.image ?? "", /^nats:2\.12/);
      const volumes = nats["volumes"] as string[];
      const config = volumes.find((v) => v.endsWith(":ro"))!.split(":")[0]!;
      const conf = await readFile(join(deployDir, config), "utf8");
      assert.match(conf, /^\s*sync_interval:\s*always\s*$/m);
      const storeDir = /^\s*store_dir:\s*(\S+)\s*$/m.exec(conf)?.[1];
      assert.ok(volumes.some((v) => v === `nats-data:${storeDir}`), `the store (${storeDir}) is on the nats-data volume`);
      assert.match(testCommand(healthcheck(nats)), /8222\/healthz\?js-enabled-only=true/);
    });

    it("lets each service connect to NATS only as its own user, whose password NATS reads too", async () => {
      const nats = services["nats"]!;
      const volumes = nats["volumes"] as string[];
      const [confSource, confTarget] = volumes.find((v) => v.startsWith("./nats/nats.conf:"))!.split(":") as [string, string];
      assert.match(await readFile(join(deployDir, confSource), "utf8"), /^include \.\/users\.conf$/m);
      const users = volumes.find((v) => v.startsWith("./nats/users.conf:"));
      assert.equal(users, `./nats/users.conf:${confTarget.replace(/[^/]+$/, "users.conf")}:ro`, "users.conf beside the conf that includes it");
      for (const user of NATS_USERS) assert.equal(env(nats)[passwordVariable(user)], STAND_IN_NATS_PASSWORDS[passwordVariable(user)], user);
      for (const [name, s] of natter) {
        const service = (s.command as string[])[0]!;
        assert.equal(env(s)["NATS_USER"], service, name);
        assert.equal(env(s)["NATS_PASSWORD"], STAND_IN_NATS_PASSWORDS[passwordVariable(service as (typeof NATS_USERS)[number])], name);
      }
    });

    it("runs Postgres 16 on a volume, healthy only when it takes TCP connections", () => {
      const postgres = services["postgres"]!;
      assert.match(postgres.image ?? "", /^postgres:16/);
      assert.ok((postgres["volumes"] as string[]).includes("pg-data:/var/lib/postgresql/data"));
      assert.match(testCommand(healthcheck(postgres)), /pg_isready -h 127\.0\.0\.1/);
    });

    it("runs auth, group, presence and two edges from the natter image", () => {
      const names = natter.map(([name, s]) => `${name}=${(s.command as string[])[0]}`).sort();
      assert.deepEqual(names, ["auth=auth", "edge-1=edge", "edge-2=edge", "group=group", "presence=presence"]);
    });

    it("checks each natter service's /readyz on its health port", () => {
      for (const [name, s] of natter) {
        const service = (s.command as string[])[0]!;
        const port = env(s)[`${service.toUpperCase()}_HEALTH_PORT`];
        assert.match(testCommand(healthcheck(s)), new RegExp(`127\\.0\\.0\\.1:${port}/readyz`), name);
      }
    });

    it("starts each service only when what it needs is healthy", () => {
      for (const [name, s] of Object.entries(services)) {
        for (const [dependency, condition] of Object.entries((s["depends_on"] ?? {}) as Record<string, { condition: string }>)) {
          assert.equal(condition.condition, "service_healthy", `${name} on ${dependency}`);
          assert.ok(healthcheck(services[dependency]!), `${dependency} has a healthcheck`);
        }
      }
      for (const [name, s] of natter) {
        const needs = Object.keys((s["depends_on"] ?? {}) as object);
        assert.ok(needs.includes("nats"), `${name} waits for NATS`);
        if (env(s)["DATABASE_URL"]) assert.ok(needs.includes("postgres"), `${name} waits for Postgres`);
      }
      for (const edge of ["edge-1", "edge-2"]) {
        for (const service of ["auth", "group", "presence"]) {
          assert.ok(Object.keys(services[edge]!["depends_on"] as object).includes(service), `${edge} waits for ${service}`);
        }
      }
    });

    it("publishes the edges on 7400 and 7401 and tells clients those addresses", () => {
      for (const [edge, port] of [["edge-1", "7400"], ["edge-2", "7401"]] as const) {
        const s = services[edge]!;
        assert.deepEqual(s["ports"], [`${port}:${env(s)["EDGE_PORT"]}`], edge);
        assert.equal(env(s)["EDGE_HOST"], "0.0.0.0", edge);
        assert.equal(env(s)["EDGE_PUBLIC_ADDR"], `localhost:${port}`, edge);
      }
      const published = Object.entries(services).filter(([, s]) => s["ports"]).map(([name]) => name);
      assert.deepEqual(published.sort(), ["edge-1", "edge-2"], "only the edges are published");
    });

    it("serves TLS on both edges by default, the certificate and key mounted read-only", () => {
      for (const edge of ["edge-1", "edge-2"]) {
        const s = services[edge]!;
        const { EDGE_TLS_CERT: cert, EDGE_TLS_KEY: key } = env(s);
        assert.ok(cert && key, `${edge} has EDGE_TLS_CERT and EDGE_TLS_KEY`);
        const mounts = (s["volumes"] ?? []) as Array<{ type?: string; source?: string; target?: string; read_only?: boolean }>;
        for (const [file, target] of [["edge.crt", cert], ["edge.key", key]] as const) {
          const mount = mounts.find((m) => m.target === target);
          assert.ok(mount, `${edge}: ${target} is mounted`);
          assert.equal(mount.type, "bind", `${edge}: ${target}`);
          assert.equal(mount.read_only, true, `${edge}: ${target} is read-only`);
          assert.equal(mount.source, `./tls/${file}`, `${edge}: ${target} comes from deploy/tls, where make-jwt-keys.mjs puts it`);
        }
      }
    });

    it("gives the edges distinct names and time to drain before docker kills them", () => {
      const names = ["edge-1", "edge-2"].map((e) => env(services[e]!)["EDGE_NAME"]);
      assert.equal(new Set(names).size, 2);
      for (const e of ["edge-1", "edge-2"]) {
        const s = services[e]!;
        const drainS = Number(env(s)["EDGE_DRAIN_MS"] ?? 5000) / 1000;
        const grace = Number(/^(\d+)s$/.exec(String(s["stop_grace_period"]))?.[1]);
        assert.ok(grace >= drainS + 5 + 5, `${e}: stop_grace_period ${grace}s covers the drain and shutdown`);
      }
    });

    it("asks for one copy of each stream, as there is one NATS server", () => {
      for (const [name, s] of natter) assert.equal(env(s)["NATTER_REPLICAS"] ?? "1", "1", name);
    });

    it("runs natter's containers read-only, without capabilities", () => {
      for (const [name, s] of natter) {
        assert.equal(s["read_only"], true, name);
        assert.deepEqual(s["cap_drop"], ["ALL"], name);
        assert.ok((s["security_opt"] as string[]).includes("no-new-privileges:true"), name);
      }
    });
  });

  describe("with deploy/local/compose.yaml over it", { skip: dockerCompose ? false : "docker-compose is not installed" }, () => {
    let services: ComposeFile["services"] = {};
    before(async () => {
      services = (await renderLocalCompose(secrets, emptyEnvFile)).services;
    });
    const env = (s: Service) => (s.environment ?? {}) as Record<string, string>;
    const natter = () => Object.entries(services).filter(([, s]) => natterService(s.image ?? "", s.command as string[] | undefined));
    const flag = (args: string[], name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
    const valueAfter = (args: string[], name: string) => args[args.indexOf(name) + 1];

    it("runs the same services, each from a local image, on the host network, publishing nothing", () => {
      assert.deepEqual(Object.keys(services).sort(), Object.keys(readCompose(secrets).services).sort());
      assert.equal(services["nats"]!.image, "natter-local/nats:bookworm");
      assert.equal(services["postgres"]!.image, "natter-local/postgres:bookworm");
      for (const [name, s] of natter()) assert.equal(s.image, "natter:local", name);
      for (const [name, s] of Object.entries(services)) {
        assert.equal(s["network_mode"], "host", name);
        assert.equal(s["ports"], undefined, `${name}: docker publishes no port on the host network`);
      }
    });

    it("runs NATS with the same users, from users.conf", () => {
      const nats = services["nats"]!;
      const config = flag(nats.command as string[], "config");
      // docker-compose writes a mount as "source:target:mode" or as an object, by version.
      const mounts = ((nats["volumes"] ?? []) as Array<string | { source: string; target: string }>)
        .map((m) => (typeof m === "string" ? { source: m.split(":")[0]!, target: m.split(":")[1]! } : m));
      assert.ok(config && mounts.some((m) => m.target === config && m.source.endsWith("/deploy/nats/users.conf")), `--config=${config} is users.conf`);
      for (const user of NATS_USERS) assert.ok((nats.environment as Record<string, string>)[passwordVariable(user)], user);
    });

    it("listens on 127.0.0.1 only, each port its own, none where npm start, NATS or Postgres usually are", () => {
      const nats = services["nats"]!.command as string[];
      const postgres = services["postgres"]!.command as string[];
      assert.equal(flag(nats, "addr"), "127.0.0.1");
      assert.equal(valueAfter(postgres, "-c"), "listen_addresses=127.0.0.1");
      const ports = [flag(nats, "port"), flag(nats, "http_port"), valueAfter(postgres, "-p")];
      for (const [name, s] of natter()) {
        const service = (s.command as string[])[0]!;
        ports.push(env(s)[`${service.toUpperCase()}_HEALTH_PORT`]);
        if (service === "edge") {
          assert.equal(env(s)["EDGE_HOST"], "127.0.0.1", name);
          assert.equal(env(s)["EDGE_PUBLIC_ADDR"], `127.0.0.1:${env(s)["EDGE_PORT"]}`, name);
          ports.push(env(s)["EDGE_PORT"]);
        }
      }
      assert.ok(ports.every((p) => Number(p) > 0), `every port is set: ${ports.join(", ")}`);
      assert.equal(new Set(ports).size, ports.length, `no port is taken twice: ${ports.join(", ")}`);
      for (const taken of ["4222", "5432", "7400", "7401", "8080", "8222"]) assert.ok(!ports.includes(taken), `${taken} is left alone`);
    });

    it("points the services at that NATS and Postgres, and every healthcheck at its port", () => {
      const nats = services["nats"]!.command as string[];
      const postgresPort = valueAfter(services["postgres"]!.command as string[], "-p");
      for (const [name, s] of natter()) {
        assert.equal(env(s)["NATS_URL"], `nats://127.0.0.1:${flag(nats, "port")}`, name);
        const database = env(s)["DATABASE_URL"];
        if (database) assert.equal(new URL(database).host, `127.0.0.1:${postgresPort}`, name);
        const service = (s.command as string[])[0]!;
        assert.match(testCommand(healthcheck(s)), new RegExp(`127\\.0\\.0\\.1:${env(s)[`${service.toUpperCase()}_HEALTH_PORT`]}/readyz`), name);
      }
      assert.match(testCommand(healthcheck(services["nats"]!)), new RegExp(`127\\.0\\.0\\.1:${flag(nats, "http_port")}/healthz\\?js-enabled-only=true`));
      assert.match(testCommand(healthcheck(services["postgres"]!)), new RegExp(`pg_isready -h 127\\.0\\.0\\.1 -p ${postgresPort} `));
    });
  });
});
