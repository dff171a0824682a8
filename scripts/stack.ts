/**
 * Runs natter's services as child processes: auth, group, presence and any number of edges, against a
 * given NATS and Postgres. Used by `npm start` and by the end-to-end tests.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { resolve } from "node:path";
import { generateSigningKey } from "@natter/auth";

const root = resolve(import.meta.dirname, "..");

export interface StackOptions {
  natsUrl: string;
  databaseUrl: string;
  namespace: string;
  /** One edge per port; 0 picks a free port. */
  edgePorts: number[];
  /** JSON array of private JWKs for auth; made fresh when absent. */
  jwtKeys?: string;
  /** Extra environment for every service (e.g. AUTH_BCRYPT_COST, NODE_ENV). */
  env?: Record<string, string>;
  /** Receives every log line of every service (pino JSON). */
  onLog?: (service: string, line: string) => void;
  /**
   * Runs each service in a process group of its own, so that a terminal's Ctrl-C reaches
   * only the launcher, which then stops each service once (`stop`). A launcher that sets
   * this must stop the stack however it ends, or the services outlive it.
   */
  detached?: boolean;
  /**
   * Runs each service's bundle (`services/<name>/dist/main.mjs`, made by `deploy/build.ts`)
   * with plain node, as the image does, instead of its TypeScript source through tsx. The
   * caller builds the bundles first.
   */
  bundled?: boolean;
}

export interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exited: Promise<number | null>;
}

export interface EdgeProcess extends ServiceProcess {
  readonly port: number;
  readonly address: string;
}

export interface Stack {
  readonly auth: ServiceProcess;
  readonly group: ServiceProcess;
  readonly presence: ServiceProcess;
  readonly edges: EdgeProcess[];
  /** "127.0.0.1:7400,127.0.0.1:7401": what a client's --server takes. */
  readonly servers: string;
  /** Starts edge `i` again on the port it had (after a kill). */
  restartEdge(i: number): Promise<EdgeProcess>;
  stop(): Promise<void>;
}

/** A fresh AUTH_JWT_KEYS: one signing key made by auth's `generateSigningKey`. */
export async function generateJwtKeys(): Promise<string> {
  return JSON.stringify([await generateSigningKey()]);
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const jwtKeys = options.jwtKeys ?? (await generateJwtKeys());
  const common = {
    NATS_URL: options.natsUrl,
    DATABASE_URL: options.databaseUrl,
    NATTER_NAMESPACE: options.namespace,
    ...options.env,
  };
  const started: ServiceProcess[] = [];
  try {
    const auth = await launch("auth", "auth", { ...common, AUTH_JWT_KEYS: jwtKeys }, options);
    started.push(auth);
    const group = await launch("group", "group", common, options);
    started.push(group);
    const presence = await launch("presence", "presence", common, options);
    started.push(presence);
    const edges: EdgeProcess[] = [];
    const startEdge = async (i: number, port: number) => {
      const edge = await launchEdge(i, port, common, options);
      edges[i] = edge;
      started.push(edge);
      return edge;
    };
    for (const [i, port] of options.edgePorts.entries()) await startEdge(i, port);
    return {
      auth,
      group,
      presence,
      edges,
      get servers() { return edges.map((e) => e.address).join(","); },
      restartEdge: (i) => startEdge(i, edges[i]!.port),
      stop: () => stopAll(started),
    };
  } catch (error) {
    await stopAll(started);
    throw error;
  }
}

async function launchEdge(i: number, port: number, env: Record<string, string>, options: LaunchOptions): Promise<EdgeProcess> {
  let listening: number | undefined;
  const service = await launch(`edge-${i + 1}`, "edge", { ...env, EDGE_PORT: String(port) }, options, (line) => {
    if (line.includes('"edge listening"')) listening = (JSON.parse(line) as { port: number }).port;
  });
  if (listening === undefined) throw new Error(`edge-${i + 1} did not say which port it listens on`);
  return { ...service, port: listening, address: `127.0.0.1:${listening}` };
}

type LaunchOptions = Pick<StackOptions, "onLog" | "detached" | "bundled">;

/** Spawns `service` and waits for its "started" log line (or its death). */
function launch(
  name: string,
  service: "auth" | "group" | "presence" | "edge",
  env: Record<string, string>,
  { onLog, detached = false, bundled = false }: LaunchOptions,
  watch?: (line: string) => void,
): Promise<ServiceProcess> {
  // The bundle as the image's entrypoint runs it.
  const args = bundled
    ? ["--enable-source-maps", resolve(root, `services/${service}/dist/main.mjs`)]
    : ["--import", "tsx", resolve(root, `services/${service}/src/main.ts`)];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached,
  });
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  const stderr: string[] = [];
  return new Promise((resolveStart, rejectStart) => {
    let up = false;
    createInterface({ input: child.stdout! }).on("line", (line) => {
      onLog?.(name, line);
      watch?.(line);
      if (!up && line.includes('"msg":"started"')) {
        up = true;
        resolveStart({ name, child, exited });
      }
    });
    createInterface({ input: child.stderr! }).on("line", (line) => {
      stderr.push(line);
      onLog?.(name, line);
    });
    void exited.then((code) => {
      if (!up) rejectStart(new Error(`${name} exited (${code}) before it started: ${stderr.slice(-5).join(" | ")}`));
    });
  });
}

async function stopAll(services: ServiceProcess[]): Promise<void> {
  await Promise.all(services.reverse().map(async (service) => {
    if (service.child.exitCode !== null || service.child.signalCode !== null) return;
    service.child.kill("SIGTERM");
    const timer = setTimeout(() => service.child.kill("SIGKILL"), 15_000);
    await service.exited;
    clearTimeout(timer);
  }));
}
