import { randomBytes } from "node:crypto";
import { createServer, connect as tcpConnect } from "node:net";
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
 * something answers there, else containers started with testcontainers when a container
 * engine runs (see {@link startContainers}); otherwise a clear error.
 * `NATTER_TEST_CONTAINERS=1` skips the default ports: what the URLs do not name runs in
 * containers. Creates a database `natter_t_<random>` and a namespace.
 */
export async function testServices(): Promise<TestServices> {
  const probe = process.env["NATTER_TEST_CONTAINERS"] !== "1";
  let natsUrl = process.env["NATS_URL"] || (probe && (await answers(4222)) ? DEFAULT_NATS : undefined);
  let serverUrl = process.env["DATABASE_URL"] || (probe && (await answers(5432)) ? DEFAULT_DATABASE : undefined);
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
  try {
    await withClient(serverUrl!, (client) => client.query(`CREATE DATABASE "${database}"`));
  } catch (err) {
    await stopContainers();
    throw err;
  }
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

/** One service in a container: where it answers, and how to remove it. */
interface Started { url: string; stop(): Promise<unknown> }

type Testcontainers = typeof import("testcontainers");

/**
 * NATS (JetStream) and Postgres (trust auth) in containers, with testcontainers. The images
 * are `NATTER_TEST_NATS_IMAGE` and `NATTER_TEST_POSTGRES_IMAGE` (default `nats:2.10` and
 * `postgres:15`, or any image that takes their arguments and variables, such as the ones
 * deploy/local/build-images.sh builds). Their ports are mapped, unless
 * `NATTER_TEST_NETWORK=host`: then they run on the host network (for an engine without a
 * bridge), each listening on a free port of 127.0.0.1. Stopping removes them.
 */
async function startContainers(nats: boolean, postgres: boolean): Promise<Containers> {
  const help =
    "integration tests need NATS (with JetStream) and PostgreSQL: set NATS_URL and DATABASE_URL, " +
    "or start them on 127.0.0.1:4222 (nats-server -js) and 127.0.0.1:5432, " +
    "or run a container engine for testcontainers to start them in";
  // Loaded only here: most runs never start a container, and it is a large module.
  const tc = await import("testcontainers");
  const hostNetwork = process.env["NATTER_TEST_NETWORK"] === "host";
  const started: Started[] = [];
  const stop = async () => void (await Promise.allSettled(started.map((s) => s.stop())));
  const start = async (run: () => Promise<Started>) => {
    const service = await run();
    started.push(service);
    return service.url;
  };
  try {
    const natsUrl = nats ? await start(() => startNats(tc, hostNetwork)) : "";
    const databaseUrl = postgres ? await start(() => startPostgres(tc, hostNetwork)) : "";
    return { natsUrl, databaseUrl, stop };
  } catch (err) {
    await stop();
    throw new Error(`no test services: ${help}`, { cause: err });
  }
}

async function startNats(tc: Testcontainers, hostNetwork: boolean): Promise<Started> {
  const container = new tc.GenericContainer(process.env["NATTER_TEST_NATS_IMAGE"] || "nats:2.10")
    .withWaitStrategy(tc.Wait.forLogMessage(/Server is ready/));
  if (hostNetwork) {
    const port = await freePort();
    const c = await container.withNetworkMode("host").withCommand(["-js", "-a", "127.0.0.1", "-p", String(port)]).start();
    return { url: `nats://127.0.0.1:${port}`, stop: () => c.stop() };
  }
  const c = await container.withCommand(["-js"]).withExposedPorts(4222).start();
  return { url: `nats://${c.getHost()}:${c.getMappedPort(4222)}`, stop: () => c.stop() };
}

async function startPostgres(tc: Testcontainers, hostNetwork: boolean): Promise<Started> {
  const port = hostNetwork ? await freePort() : 5432;
  // Over TCP: while the postgres image initialises, its temporary server has no TCP port.
  const container = new tc.GenericContainer(process.env["NATTER_TEST_POSTGRES_IMAGE"] || "postgres:15")
    .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: "trust" })
    .withWaitStrategy(tc.Wait.forSuccessfulCommand(`pg_isready -h 127.0.0.1 -p ${port}`));
  if (hostNetwork) {
    const c = await container.withNetworkMode("host").withCommand(["-p", String(port), "-c", "listen_addresses=127.0.0.1"]).start();
    return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, stop: () => c.stop() };
  }
  const c = await container.withExposedPorts(5432).start();
  return { url: `postgres://postgres@${c.getHost()}:${c.getMappedPort(5432)}/postgres`, stop: () => c.stop() };
}

/** A port nothing listens on now, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** A logger that writes nothing, for tests (set TEST_LOG_LEVEL to see logs). */
export function quietLogger(service = "test"): Logger {
  const level = process.env["TEST_LOG_LEVEL"];
  return level ? createLogger(service, level) : createLogger(service, "silent", new Writable({ write: (_c, _e, done) => done() }));
}
