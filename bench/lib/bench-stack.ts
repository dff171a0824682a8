/**
 * The stack under test: natter's auth, group and two edges as child processes (the same
 * launcher as `npm start` and the end-to-end tests), each with an event-loop probe, in a
 * fresh database and NATS namespace; plus bulk registration of bench devices. The services
 * run as the image runs them: their bundles with plain node, built once a run.
 */
import { createHash, randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { createPrimitives, makeEntry, toBase64url } from "@natter/crypto";
import { call } from "@natter/kit";
import { testServices, type TestServices } from "@natter/kit/testing";
import { AuthApi, GroupApi, names, NatterError, type Names } from "@natter/protocol";
import { startStack, type Stack } from "../../scripts/stack.ts";
import { buildServices } from "../../deploy/build.ts";
import { withLimit, type Endpoint } from "../load/device.ts";
import type { Cred } from "../load/worker.ts";

const PROBE = pathToFileURL(resolve(import.meta.dirname, "../load/probe.mjs")).href;
export const PROBE_INTERVAL_MS = 500;

/** A probe's sample: the event-loop delay only from a stack started with `loopProbe`. */
export interface ProbeSample { at: number; p50?: number; p99?: number; max?: number; rss: number }

/** Memory of a service right after a forced garbage collection (bytes). */
export interface HeldMemory {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** What the young generation's space holds on to, in use or not (not from the raw server's probe). */
  youngSpace?: number;
}

export interface BenchStackOptions {
  bcryptCost: number;
  /** Another NATS than the machine's (the NATS-cost scenario runs its own). */
  natsUrl?: string;
  edges?: number;
  env?: Record<string, string>;
  /**
   * The probes' samples of memory and event-loop delay, every half second (they cost each
   * process about 1.4 % of a core); without it `probes` has none.
   */
  loopProbe?: boolean;
}

export interface BenchStack {
  readonly stack: Stack;
  readonly natsUrl: string;
  readonly namespace: string;
  readonly n: Names;
  /** The harness's own NATS connection (setup: registrations, groups, filling inboxes). */
  readonly nc: NatsConnection;
  readonly edges: Endpoint[];
  pid(service: "auth" | "group" | number): number;
  /** Its service processes, named: auth, group, presence, edge0, edge1, … */
  processes(): Array<{ name: string; pid: number }>;
  /** Makes the service collect garbage and tells what it then holds. */
  collect(service: "auth" | "group" | number): Promise<HeldMemory>;
  /** Event-loop probe lines of a service between two `performance.now()` times. */
  probes(service: string, from: number, to: number): ProbeSample[];
  /** Registers `count` devices through auth's `register` verb, `concurrency` at a time. */
  register(count: number, options?: { password?: string; concurrency?: number; prefix?: string }): Promise<{ creds: Cred[]; ms: number }>;
  /** Creates a group as `owner` with `members` (group service `create` verb). */
  createGroup(name: string, owner: Cred, members: Cred[]): Promise<string>;
  /** The last lines any service logged at warn or above, for a failure report. */
  problems(): string[];
  stop(): Promise<void>;
}

/** Base environment: logins never time out during a run, limits meant for abuse do not bite. */
export function benchEnv(bcryptCost: number): Record<string, string> {
  return {
    NODE_ENV: "test",
    // The launcher waits for each service's "started" line, logged at info.
    LOG_LEVEL: "info",
    AUTH_BCRYPT_COST: String(bcryptCost),
    AUTH_ADDR_LIMIT: "100000000",
    AUTH_TOKEN_TTL: "7200",
    EDGE_LOGIN_TIMEOUT_MS: "3600000",
    EDGE_SEND_RATE: "1000000",
    // Thousands of simulated devices log in from one address and some sit idle without pinging.
    EDGE_MAX_WAITING_PER_ADDR: "1000000",
    EDGE_MAX_WAITING: "1000000",
    EDGE_PRELOGIN_RATE: "1000000",
    EDGE_KEEPALIVE_MS: "3600000",
    EDGE_DRAIN_MS: "1000",
    NODE_OPTIONS: `--import ${PROBE}`,
    BENCH_PROBE_MS: String(PROBE_INTERVAL_MS),
  };
}

/** The services' bundles, built at the first stack of a run. */
let built: Promise<unknown> | undefined;

export async function startBenchStack(options: BenchStackOptions): Promise<BenchStack> {
  await (built ??= buildServices());
  const services: TestServices = await testServices();
  const natsUrl = options.natsUrl ?? services.natsUrl;
  const probes = new Map<string, ProbeSample[]>();
  const collected = new Map<string, (memory: HeldMemory) => void>();
  const problems: string[] = [];
  let stack: Stack;
  try {
    stack = await startStack({
      natsUrl,
      databaseUrl: services.databaseUrl,
      namespace: services.namespace,
      edgePorts: Array.from({ length: options.edges ?? 2 }, () => 0),
      bundled: true,
      env: { ...benchEnv(options.bcryptCost), ...(options.loopProbe ? { BENCH_PROBE_LOOP: "1" } : {}), ...options.env },
      onLog: (service, line) => {
        if (line.startsWith("BENCHGC ")) {
          collected.get(service)?.(JSON.parse(line.slice(8)) as HeldMemory);
          collected.delete(service);
        } else if (line.startsWith("BENCHPROBE ")) {
          const sample = { at: performance.now(), ...(JSON.parse(line.slice(11)) as Omit<ProbeSample, "at">) };
          const list = probes.get(service) ?? [];
          list.push(sample);
          if (list.length > 20_000) list.splice(0, 10_000);
          probes.set(service, list);
        } else if (!/"level":"(info|debug|trace)"/.test(line)) {
          problems.push(`${service}: ${line}`);
          if (problems.length > 50) problems.shift();
        }
      },
    });
  } catch (error) {
    await services.cleanup();
    throw error;
  }
  const nc = await connect({ servers: natsUrl.split(","), name: "natter-bench-harness" });
  const n = names(services.namespace);
  const serviceOf = (s: "auth" | "group" | number) => (s === "auth" ? stack.auth : s === "group" ? stack.group : stack.edges[s]!);

  return {
    stack,
    natsUrl,
    namespace: services.namespace,
    n,
    nc,
    get edges() { return stack.edges.map((e) => ({ host: "127.0.0.1", port: e.port })); },
    pid: (s) => serviceOf(s).child.pid!,
    processes: () => [
      { name: "auth", pid: stack.auth.child.pid! }, { name: "group", pid: stack.group.child.pid! }, { name: "presence", pid: stack.presence.child.pid! },
      ...stack.edges.map((edge, i) => ({ name: `edge${i}`, pid: edge.child.pid! })),
    ],
    collect(s) {
      const service = serviceOf(s);
      return new Promise<HeldMemory>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${service.name} did not report after a collection`)), 30_000);
        collected.set(service.name, (memory) => {
          clearTimeout(timer);
          resolve(memory);
        });
        service.child.kill("SIGUSR2");
      });
    },
    probes: (service, from, to) => (probes.get(service) ?? []).filter((p) => p.at >= from && p.at <= to + PROBE_INTERVAL_MS),
    async register(count, opts = {}) {
      const password = opts.password ?? "bench-password";
      const prefix = opts.prefix ?? `d${randomBytes(3).toString("hex")}`;
      const start = performance.now();
      const creds = await withLimit(Array.from({ length: count }, (_, i) => i), opts.concurrency ?? 64, async (i) => {
        const request = {
          username: `${prefix}_${i}`,
          // What the CLI sends in place of the password: 32 bytes it derives from it (Argon2id, client side).
          salt: randomBytes(16).toString("base64url"),
          secret: createHash("sha256").update(password).digest("base64url"),
          bundle: fakeBundle(await benchIdentity(`${prefix}_${i}`)),
          backup: randomBytes(1536).toString("base64url"),
          addr: `127.0.${Math.floor(i / 250) % 250}.${(i % 250) + 2}`,
        };
        // auth turns registrations away while its bcrypt queue is full: try again, as a client would.
        for (let attempt = 0; ; attempt++) {
          try {
            const grant = await call(nc, n.auth("register"), AuthApi.register, request, { timeoutMs: 120_000 });
            return { userId: grant.userId, username: grant.username, token: grant.token };
          } catch (error) {
            if (!(error instanceof NatterError && error.code === "UNAVAILABLE") || attempt >= 50) throw error;
            await new Promise((resolve) => setTimeout(resolve, 200 + Math.random() * 300));
          }
        }
      });
      return { creds, ms: performance.now() - start };
    },
    async createGroup(name, owner, members) {
      const group = await call(nc, n.groupSvc("create"), GroupApi.create, {
        userId: owner.userId, username: owner.username, name, members: members.map((m) => m.username), entry: await genesisEntry(name, owner, members),
      }, { timeoutMs: 60_000 });
      return group.id;
    },
    problems: () => [...problems],
    async stop() {
      await nc.close().catch(() => undefined);
      try {
        await stack.stop();
      } finally {
        await services.cleanup();
      }
    },
  };
}

const P = createPrimitives();

/**
 * A user's identity key, made from their name, so the harness signs their group changes
 * without keeping keys (the rest of their bundle is made up: the servers cannot tell).
 */
export async function benchIdentity(username: string): Promise<{ identityKey: string; seed: Uint8Array }> {
  const seed = createHash("sha256").update(`natter bench identity ${username.toLowerCase()}`).digest();
  return { identityKey: toBase64url(await P.ed25519PublicKey(seed)), seed };
}

/** The signed genesis of the open group `name`, made by `owner` (its admin) with `members`. */
export async function genesisEntry(name: string, owner: { userId: string; username: string }, members: readonly { userId: string; username: string }[]): Promise<string> {
  const named = await Promise.all([owner, ...members].map(async (u, i) => ({
    userId: u.userId, username: u.username, identityKey: (await benchIdentity(u.username)).identityKey, admin: i === 0,
  })));
  const op = { type: "genesis" as const, name: name.toLowerCase(), open: true, nonce: randomBytes(16).toString("base64url"), members: named };
  return makeEntry(P, (await benchIdentity(owner.username)).seed, undefined, owner.userId, op, Date.now());
}

/** A public key bundle of the right shape and size (its identity key `identity`'s): the servers store it and cannot tell. */
export function fakeBundle(identity: { identityKey: string } = { identityKey: randomBytes(32).toString("base64url") }) {
  const key = () => randomBytes(32).toString("base64url");
  const sig = () => randomBytes(64).toString("base64url");
  return {
    v: 1 as const,
    identityKey: identity.identityKey,
    identityDhKey: key(),
    identityDhSignature: sig(),
    signedPrekey: { id: 1, publicKey: key(), signature: sig() },
    oneTimePrekeys: [],
  };
}
