import { randomBytes } from "node:crypto";
import { connect as tcpConnect } from "node:net";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { Writable } from "node:stream";
import pg from "pg";
import { createLogger, type Logger } from "./logger.ts";

/** Real NATS and Postgres for one test run, isolated by database and namespace. */
export interface TestServices {
  natsUrl: string;
  /** A fresh database of its own on the Postgres server. */
  databaseUrl: string;
  /** A fresh NATS namespace (`t<random>`) for every name this run creates. */
  namespace: string;
  /** Drops the database and deletes the namespace's JetStream streams, KV buckets and object stores. */
  cleanup(): Promise<void>;
}

const DEFAULT_NATS = "nats://127.0.0.1:4222";
const DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/postgres";

/**
 * NATS and Postgres from `NATS_URL`/`DATABASE_URL`, else the default local ports when
 * something answers there, else testcontainers when installed and a container engine
 * runs; otherwise a clear error. Creates a database `natter_t_<random>` and a namespace.
 */
export async function testServices(): Promise<TestServices> {
  let natsUrl = process.env["NATS_URL"] || ((await answers(4222)) ? DEFAULT_NATS : undefined);
  let serverUrl = process.env["DATABASE_URL"] || ((await answers(5432)) ? DEFAULT_DATABASE : undefined);
  let stopContainers = async () => {};
  if (!natsUrl || !serverUrl) {
    const started = await startContainers(!natsUrl, !serverUrl);
    natsUrl ??= started.natsUrl;
    serverUrl ??= started.databaseUrl;
    stopContainers = started.stop;
  }

  const id = randomBytes(6).toString("hex");
  const database = `natter_t_${id}`;
  const namespace = `t${id}`;
  await withClient(serverUrl!, (client) => client.query(`CREATE DATABASE "${database}"`));
  const databaseUrl = withDatabase(serverUrl!, database);

  return {
    natsUrl: natsUrl!,
    databaseUrl,
    namespace,
    cleanup: async () => {
      try {
        await deleteNamespaceStreams(natsUrl!, namespace);
        await withClient(serverUrl!, (client) => client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`));
      } finally {
        await stopContainers();
      }
    },
  };
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: "127.0.0.1", port, timeout: 500 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
    socket.once("timeout", () => done(false));
  });
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function deleteNamespaceStreams(natsUrl: string, namespace: string): Promise<void> {
  const nc = await connect({ servers: natsUrl.split(","), name: "natter-test-cleanup" });
  try {
    const jsm = await jetstreamManager(nc);
    const upper = namespace.toUpperCase();
    const ours = (stream: string) => {
      const bare = stream.replace(/^(KV|OBJ)_/, "").toUpperCase();
      return bare === upper || /^[_.-]/.test(bare.slice(upper.length)) && bare.startsWith(upper);
    };
    for await (const stream of jsm.streams.names()) {
      if (ours(stream)) await jsm.streams.delete(stream);
    }
  } finally {
    await nc.close();
  }
}

interface Containers { natsUrl: string; databaseUrl: string; stop(): Promise<void> }

async function startContainers(nats: boolean, postgres: boolean): Promise<Containers> {
  const help =
    "integration tests need NATS (with JetStream) and PostgreSQL: set NATS_URL and DATABASE_URL, " +
    "or start them on 127.0.0.1:4222 (nats-server -js) and 127.0.0.1:5432, " +
    "or install testcontainers (npm install -D testcontainers) with a running container engine";
  // testcontainers is optional and not installed here: load it only by name at run time.
  const moduleName = "testcontainers";
  let tc: any;
  try {
    tc = await import(moduleName);
  } catch {
    throw new Error(`no test services: ${help}`);
  }
  const stops: Array<() => Promise<unknown>> = [];
  try {
    let natsUrl = "";
    let databaseUrl = "";
    if (nats) {
      const c = await new tc.GenericContainer("nats:2.10").withCommand(["-js"]).withExposedPorts(4222).start();
      stops.push(() => c.stop());
      natsUrl = `nats://${c.getHost()}:${c.getMappedPort(4222)}`;
    }
    if (postgres) {
      const c = await new tc.GenericContainer("postgres:15")
        .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: "trust" })
        .withExposedPorts(5432)
        .withWaitStrategy(tc.Wait.forLogMessage(/database system is ready to accept connections/, 2))
        .start();
      stops.push(() => c.stop());
      databaseUrl = `postgres://postgres@${c.getHost()}:${c.getMappedPort(5432)}/postgres`;
    }
    return { natsUrl, databaseUrl, stop: async () => void (await Promise.all(stops.map((s) => s()))) };
  } catch (err) {
    await Promise.allSettled(stops.map((s) => s()));
    throw new Error(`no test services: ${help}`, { cause: err });
  }
}

/** A logger that writes nothing, for tests (set TEST_LOG_LEVEL to see logs). */
export function quietLogger(service = "test"): Logger {
  const level = process.env["TEST_LOG_LEVEL"];
  return level ? createLogger(service, level) : createLogger(service, "silent", new Writable({ write: (_c, _e, done) => done() }));
}
