/**
 * Helpers for the deployment checks: render the kustomizations, read compose.yaml (alone,
 * or with deploy/local/compose.yaml over it), find the natter containers in them and the
 * environment they are given, and read each service's config schema.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import type { z } from "zod";
import { NATS_USERS, passwordVariable } from "../../deploy/nats/permissions.ts";

export const root = resolve(import.meta.dirname, "../..");
export const deployDir = join(root, "deploy");

const run = promisify(execFile);

/** A rendered Kubernetes object, as plain data. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

/** Where `name` is on PATH, or undefined. */
export function which(name: string): string | undefined {
  for (const dir of (process.env["PATH"] ?? "").split(":")) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/**
 * Stand-ins for each service's NATS password (`NATS_AUTH_PASSWORD`, ...), which compose
 * reads from deploy/.env and Kubernetes from the natter-nats-users Secret.
 */
export const STAND_IN_NATS_PASSWORDS: Readonly<Record<string, string>> = Object.fromEntries(
  NATS_USERS.map((user) => [passwordVariable(user), `n${user}StandIn0123456789`]),
);

export const KUSTOMIZATIONS = ["deploy/k8s/base", "deploy/k8s/overlays/local"] as const;

/** `kubectl kustomize <dir>`, parsed. Throws with kubectl's message when it fails. */
export async function renderKustomization(dir: string): Promise<K8sObject[]> {
  const { stdout } = await run("kubectl", ["kustomize", join(root, dir)], { maxBuffer: 16 * 1024 * 1024 });
  return parseYamlStream(stdout) as K8sObject[];
}

export function parseYamlStream(text: string): unknown[] {
  const docs = parseAllDocuments(text);
  const out: unknown[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`bad YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

// --- Kubernetes pods -------------------------------------------------------------------

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
    fieldRef?: { fieldPath: string };
    resourceFieldRef?: { resource: string };
  };
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: EnvVar[];
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  [key: string]: unknown;
}

export interface PodSpec {
  containers: Container[];
  volumes?: Array<{ name: string; secret?: { secretName: string }; configMap?: { name: string }; [key: string]: unknown }>;
  [key: string]: unknown;
}

export interface Workload {
  object: K8sObject;
  pod: PodSpec;
  podLabels: Record<string, string>;
}

const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "Job"]);

export function workloads(objects: readonly K8sObject[]): Workload[] {
  return objects
    .filter((o) => WORKLOAD_KINDS.has(o.kind))
    .map((object) => {
      const template = (object["spec"] as { template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec } }).template;
      return { object, pod: template.spec, podLabels: template.metadata?.labels ?? {} };
    });
}

export const SERVICE_NAMES = ["auth", "group", "presence", "edge"] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

function isServiceName(value: unknown): value is ServiceName {
  return typeof value === "string" && (SERVICE_NAMES as readonly string[]).includes(value);
}

/** natter's image is `natter` (any registry, any tag); the service is its first argument. */
export function natterService(image: string, command: readonly unknown[] | undefined): ServiceName | undefined {
  const repository = image.replace(/@.*$/, "").replace(/:[^/:]*$/, "");
  if (repository.split("/").pop() !== "natter") return undefined;
  const first = command?.[0];
  if (!isServiceName(first)) throw new Error(`natter container with command ${JSON.stringify(command)}: which service?`);
  return first;
}

/** One natter container and the environment it would start with. */
export interface ServiceEnv {
  where: string;
  service: ServiceName;
  /** Every variable set, with a value a test can parse (references resolved or stood in for). */
  env: Record<string, string>;
}

/**
 * The environment of every natter container in `objects`. Values from ConfigMaps and
 * Secrets in the render are resolved; `outOfBand` supplies the value of a Secret key an
 * operator makes (`"natter-jwt-keys/AUTH_JWT_KEYS"`); a field reference stands in as a pod
 * name. A reference to anything else throws: it would not start.
 */
export function k8sServiceEnvs(objects: readonly K8sObject[], outOfBand: Record<string, string>): ServiceEnv[] {
  const data = (kind: "ConfigMap" | "Secret", name: string): Record<string, string> | undefined => {
    const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
    if (!found) return undefined;
    if (kind === "ConfigMap") return (found["data"] ?? {}) as Record<string, string>;
    const decoded: Record<string, string> = {};
    for (const [k, v] of Object.entries((found["data"] ?? {}) as Record<string, string>)) decoded[k] = Buffer.from(v, "base64").toString("utf8");
    return { ...decoded, ...((found["stringData"] ?? {}) as Record<string, string>) };
  };
  const keyOf = (kind: "ConfigMap" | "Secret", ref: { name: string; key: string }, where: string): string => {
    const value = data(kind, ref.name)?.[ref.key] ?? (kind === "Secret" ? outOfBand[`${ref.name}/${ref.key}`] : undefined);
    if (value === undefined) throw new Error(`${where}: ${kind} ${ref.name} key ${ref.key} is neither rendered nor made by the operator`);
    return value;
  };

  const out: ServiceEnv[] = [];
  for (const { object, pod } of workloads(objects)) {
    for (const container of pod.containers) {
      const service = natterService(container.image, container.args);
      if (!service) continue;
      const where = `${object.kind}/${object.metadata.name} container ${container.name}`;
      const env: Record<string, string> = {};
      for (const from of container.envFrom ?? []) {
        const ref = from.configMapRef ?? from.secretRef;
        const kind = from.configMapRef ? "ConfigMap" : "Secret";
        const values = ref && data(kind, ref.name);
        if (!values) throw new Error(`${where}: envFrom ${kind} ${ref?.name} is not in the render, so its keys cannot be checked`);
        Object.assign(env, values);
      }
      for (const variable of container.env ?? []) {
        const from = variable.valueFrom;
        if (variable.value !== undefined) env[variable.name] = variable.value;
        else if (from?.secretKeyRef) env[variable.name] = keyOf("Secret", from.secretKeyRef, where);
        else if (from?.configMapKeyRef) env[variable.name] = keyOf("ConfigMap", from.configMapKeyRef, where);
        else if (from?.fieldRef) env[variable.name] = `${object.metadata.name}-7d9f8-abcde`;
        else throw new Error(`${where}: ${variable.name} has neither a value nor a reference this check knows`);
      }
      out.push({ where, service, env });
    }
  }
  return out;
}

// --- compose ---------------------------------------------------------------------------

export const COMPOSE_FILE = join(deployDir, "compose.yaml");

interface ComposeService {
  image?: string;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  [key: string]: unknown;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  [key: string]: unknown;
}

/**
 * compose.yaml as compose reads it: YAML merge keys applied and `${NAME}`, `${NAME:-default}`
 * and `${NAME:?message}` filled from `variables` (as compose does from deploy/.env).
 */
export function readCompose(variables: Record<string, string>): ComposeFile {
  const raw = parseYaml(readFileSync(COMPOSE_FILE, "utf8"), { merge: true }) as unknown;
  return interpolate(raw, variables) as ComposeFile;
}

function interpolate(value: unknown, variables: Record<string, string>): unknown {
  if (typeof value === "string") {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (_match, name: string, op?: string, arg?: string) => {
      const set = variables[name];
      const empty = set === undefined || (op?.startsWith(":") === true && set === "");
      if (!empty) return set!;
      if (op?.endsWith("?")) throw new Error(`compose: ${name} is required: ${arg}`);
      return op?.endsWith("-") ? (arg ?? "") : "";
    });
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, variables));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, variables)]));
  }
  return value;
}

/**
 * deploy/compose.yaml with deploy/local/compose.yaml over it, as deploy/local/compose.sh
 * hands it to docker-compose, rendered by `docker-compose config` with `variables` (and an
 * empty env file in place of a developer's deploy/.env). Needs docker-compose, no engine.
 */
export async function renderLocalCompose(variables: Record<string, string>, emptyEnvFile: string): Promise<ComposeFile> {
  const { stdout } = await run(join(deployDir, "local", "compose.sh"), ["--env-file", emptyEnvFile, "config"], {
    cwd: root,
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "/", ...variables },
  });
  return parseYaml(stdout) as ComposeFile;
}

export function composeServiceEnvs(compose: ComposeFile): ServiceEnv[] {
  const out: ServiceEnv[] = [];
  for (const [name, definition] of Object.entries(compose.services)) {
    const command = typeof definition.command === "string" ? definition.command.split(/\s+/) : definition.command;
    const service = natterService(definition.image ?? "", command);
    if (!service) continue;
    const env: Record<string, string> = {};
    const environment = definition.environment ?? {};
    const entries = Array.isArray(environment)
      ? environment.map((line) => {
          const at = line.indexOf("=");
          return at < 0 ? [line, ""] : [line.slice(0, at), line.slice(at + 1)];
        })
      : Object.entries(environment);
    for (const [key, value] of entries) env[String(key)] = value === null || value === undefined ? "" : String(value);
    out.push({ where: `compose service ${name}`, service, env });
  }
  return out;
}

// --- the services' config schemas ------------------------------------------------------

export interface EnvField {
  /** Must be set: neither optional nor defaulted. */
  required: boolean;
}

/**
 * The variables a config schema reads. zod 4 keeps a refined object a ZodObject (refine
 * adds a check, it does not wrap), so `.shape` is there; a transformed or piped object is
 * a ZodPipe whose input side holds the shape.
 */
export function envFields(schema: z.ZodType): Record<string, EnvField> {
  const def = schema.def as { type: string; in?: z.ZodType; shape?: Record<string, z.ZodType> };
  if (def.type === "pipe" && def.in) return envFields(def.in);
  if (def.type !== "object" || !def.shape) throw new Error(`a config schema should be a zod object, not ${def.type}`);
  const fields: Record<string, EnvField> = {};
  for (const [name, field] of Object.entries(def.shape)) {
    const type = (field.def as { type: string }).type;
    fields[name] = { required: !["optional", "default", "prefault"].includes(type) };
  }
  return fields;
}

/**
 * A service's environment schema from `services/<name>/src/config.ts` by its export name,
 * or undefined while that service's folder is not there yet.
 */
export async function loadOptionalSchema(service: ServiceName, exportName: string): Promise<z.ZodType | undefined> {
  const file = join(root, "services", service, "src", "config.ts");
  if (!existsSync(file)) return undefined;
  const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const schema = module[exportName];
  if (!schema || typeof schema !== "object" || !("def" in schema)) {
    throw new Error(`services/${service}/src/config.ts exports no zod schema ${exportName}`);
  }
  return schema as z.ZodType;
}
