/**
 * The deployment files and the services agree on configuration: every variable compose
 * or Kubernetes sets on a natter service is one its config schema reads, every variable
 * the schema requires is set, and the values given pass the schema.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { promisify } from "node:util";
import type { z } from "zod";
import { AuthEnv } from "../../services/auth/src/config.ts";
import { EdgeEnv } from "../../services/edge/src/config.ts";
import { GroupEnv } from "../../services/group/src/config.ts";
import {
  composeServiceEnvs,
  envFields,
  k8sServiceEnvs,
  loadOptionalSchema,
  readCompose,
  renderKustomization,
  renderLocalCompose,
  root,
  SERVICE_NAMES,
  STAND_IN_NATS_PASSWORDS,
  which,
  type ServiceEnv,
  type ServiceName,
} from "./support.ts";

const run = promisify(execFile);
const kubectl = which("kubectl");
const dockerCompose = which("docker-compose");

/** What the operator puts into Secrets the manifests reference but do not make. */
function outOfBandSecrets(jwtKeys: string, kustomization: string): Record<string, string> {
  const made: Record<string, string> = { "natter-jwt-keys/AUTH_JWT_KEYS": jwtKeys };
  if (kustomization.endsWith("base")) {
    made["natter-database/DATABASE_URL"] = "postgres://natter:secret@db.example.com:5432/natter";
    for (const [name, value] of Object.entries(STAND_IN_NATS_PASSWORDS)) made[`natter-nats-users/${name}`] = value;
  }
  return made;
}

describe("service configuration in the deployment files", () => {
  const schemas: Partial<Record<ServiceName, z.ZodType>> = { auth: AuthEnv, group: GroupEnv, edge: EdgeEnv };
  const sources = new Map<string, () => Promise<ServiceEnv[]>>();
  let jwtKeys = "";

  before(async () => {
    const presence = await loadOptionalSchema("presence", "PresenceEnv");
    if (presence) schemas.presence = presence;
    else console.log("# services/presence is not there yet: its environment goes unchecked");
    jwtKeys = (await run(process.execPath, ["deploy/make-jwt-keys.mjs", "--json"], { cwd: root })).stdout.trim();
  });

  sources.set("deploy/compose.yaml", async () => composeServiceEnvs(readCompose({ AUTH_JWT_KEYS: jwtKeys, ...STAND_IN_NATS_PASSWORDS })));
  sources.set("deploy/compose.yaml with deploy/local/compose.yaml", async () => {
    const scratch = await mkdtemp(join(tmpdir(), "natter-env-"));
    try {
      await writeFile(join(scratch, "empty.env"), "");
      return composeServiceEnvs(await renderLocalCompose({ AUTH_JWT_KEYS: jwtKeys, ...STAND_IN_NATS_PASSWORDS }, join(scratch, "empty.env")));
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
  for (const dir of ["deploy/k8s/base", "deploy/k8s/overlays/local"]) {
    sources.set(dir, async () => k8sServiceEnvs(await renderKustomization(dir), outOfBandSecrets(jwtKeys, dir)));
  }

  it("reads each schema's variables, refined objects included", () => {
    const auth = envFields(AuthEnv);
    assert.equal(auth["AUTH_JWT_KEYS"]?.required, true);
    assert.equal(auth["DATABASE_URL"]?.required, true);
    assert.equal(auth["AUTH_HEALTH_PORT"]?.required, false);
    // EdgeEnv carries two refinements; its fields are still found, and it has no DATABASE_URL.
    const edge = envFields(EdgeEnv);
    assert.equal(edge["EDGE_PORT"]?.required, false);
    assert.equal(edge["DATABASE_URL"], undefined);
  });

  for (const [source, load] of sources) {
    const skip = source.startsWith("deploy/k8s") && !kubectl ? "kubectl is not installed"
      : source.includes("deploy/local") && !dockerCompose ? "docker-compose is not installed"
      : false;
    describe(source, { skip }, () => {
      let envs: ServiceEnv[] = [];
      before(async () => {
        envs = await load();
      });

      it("runs every service", () => {
        for (const service of SERVICE_NAMES) {
          if (!schemas[service]) continue;
          assert.ok(envs.some((e) => e.service === service), `${source} runs no ${service}`);
        }
      });

      it("sets only variables the services read", () => {
        const unknown = envs.flatMap(({ where, service, env }) => {
          const schema = schemas[service];
          if (!schema) return [];
          const fields = envFields(schema);
          return Object.keys(env).filter((name) => !fields[name]).map((name) => `${where} (${service}): ${name}`);
        });
        assert.deepEqual(unknown, [], "variables no service reads (a typo, or a setting the service lacks)");
      });

      it("sets every variable a service requires", () => {
        const missing = envs.flatMap(({ where, service, env }) => {
          const schema = schemas[service];
          if (!schema) return [];
          return Object.entries(envFields(schema))
            .filter(([name, field]) => field.required && !env[name])
            .map(([name]) => `${where} (${service}): ${name}`);
        });
        assert.deepEqual(missing, []);
      });

      it("gives values each service's schema accepts", () => {
        for (const { where, service, env } of envs) {
          const schema = schemas[service];
          if (!schema) continue;
          // As loadConfig does: an empty variable counts as unset.
          const given = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ""));
          const result = schema.safeParse(given);
          assert.ok(result.success, `${where}: ${result.error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
        }
      });

      it("turns on each service's health endpoints", () => {
        for (const { where, service, env } of envs) {
          const port = Number(env[`${service.toUpperCase()}_HEALTH_PORT`]);
          assert.ok(port > 0, `${where}: ${service.toUpperCase()}_HEALTH_PORT must be set for the probes`);
        }
      });
    });
  }
});
