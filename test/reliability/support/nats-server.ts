/** Real `nats-server` processes (Debian's 2.9) on loopback: one node, or a node of a cluster. */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { freePort, sleep, waitForPort } from "./net.ts";

export interface NatsNodeOptions {
  name: string;
  port: number;
  /** JetStream store (kept across restarts) and the node's log file live here. */
  dir: string;
  cluster?: { name: string; port: number; routes: number[] };
  /** Listens on this address (127.0.0.1 unless the node runs in a network namespace). */
  host?: string;
  /** Runs the node inside this network namespace (`ip netns exec`). */
  netns?: string;
  /** Routes as full URLs, for nodes on addresses of their own (overrides `cluster.routes`). */
  routeUrls?: string[];
}

/** One nats-server that can be stopped, killed and started again on the same port and store. */
export class NatsNode {
  private child: ChildProcess | undefined;
  private exit: Promise<void> = Promise.resolve();

  constructor(readonly options: NatsNodeOptions) {
    mkdirSync(join(options.dir, "store"), { recursive: true });
  }

  get url(): string {
    return `nats://${this.options.host ?? "127.0.0.1"}:${this.options.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    const { name, port, dir, cluster, netns } = this.options;
    const host = this.options.host ?? "127.0.0.1";
    const args = ["-a", host, "-p", String(port), "-js", "-sd", join(dir, "store"), "--server_name", name, "-l", join(dir, "nats.log")];
    if (cluster) {
      args.push("--cluster", `nats://${host}:${cluster.port}`, "--cluster_name", cluster.name,
        "--routes", (this.options.routeUrls ?? cluster.routes.map((p) => `nats://127.0.0.1:${p}`)).join(","));
    }
    // `ip netns exec` execs the server in place: the child's pid is the server's, so signals reach it.
    const child = netns ? spawn("ip", ["netns", "exec", netns, "nats-server", ...args], { stdio: "ignore" }) : spawn("nats-server", args, { stdio: "ignore" });
    this.child = child;
    this.exit = new Promise((done) => child.once("exit", () => done()));
    const died = this.exit.then(() => { throw new Error(`nats-server ${name} exited at start (see ${join(dir, "nats.log")})`); });
    died.catch(() => undefined);
    await Promise.race([waitForPort(port, `nats-server ${name}`, 15_000, host), died]);
  }

  /** SIGSTOP: the server holds its connections and answers nothing, as a hung node does. */
  pause(): void {
    if (this.running) this.child!.kill("SIGSTOP");
  }

  /** SIGCONT after `pause`. */
  resume(): void {
    if (this.running) this.child!.kill("SIGCONT");
  }

  /** SIGTERM (a clean stop) or SIGKILL (a crash); waits for the process to end. */
  async stop(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    if (!this.running) return;
    this.child!.kill(signal);
    const timer = setTimeout(() => this.child?.kill("SIGKILL"), 10_000);
    await this.exit;
    clearTimeout(timer);
  }
}

/** A single JetStream node on a free port. */
export async function startNatsNode(dir: string, name = "n1"): Promise<NatsNode> {
  const node = new NatsNode({ name, port: await freePort(), dir });
  await node.start();
  return node;
}

/** Three nodes routed to each other; resolves once JetStream has a meta leader. */
export async function startNatsCluster(dir: string, size = 3): Promise<NatsNode[]> {
  const ports = await Promise.all(Array.from({ length: size }, () => freePort()));
  const clusterPorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const nodes = ports.map((port, i) => new NatsNode({
    name: `n${i + 1}`,
    port,
    dir: join(dir, `n${i + 1}`),
    cluster: { name: "natter-reliability", port: clusterPorts[i]!, routes: clusterPorts.filter((_, j) => j !== i) },
  }));
  await Promise.all(nodes.map((n) => n.start()));
  return nodes;
}

/**
 * Waits until JetStream answers API requests through `urls` — on a cluster that needs a
 * meta leader — and, when `stream` is named, until that stream has a leader too.
 */
export async function waitForJetStream(urls: string[], timeoutMs = 30_000, stream?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const nc = await connect({ servers: urls, timeout: 2000, reconnect: false });
      try {
        const jsm = await jetstreamManager(nc, { timeout: 2000 });
        await jsm.getAccountInfo();
        if (stream) {
          const info = await jsm.streams.info(stream);
          if (info.cluster?.leader === undefined && urls.length > 1) throw new Error(`stream ${stream} has no leader`);
        }
        return;
      } finally {
        await nc.close();
      }
    } catch (err) {
      last = err;
      await sleep(250);
    }
  }
  throw new Error(`JetStream not ready within ${timeoutMs} ms: ${String(last)}`);
}

/** How many copies each of `streams` keeps. */
export async function streamReplicas(urls: string[], streams: string[]): Promise<Record<string, number>> {
  const nc = await connect({ servers: urls, timeout: 2000, reconnect: false });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 2000 });
    const out: Record<string, number> = {};
    for (const stream of streams) out[stream] = (await jsm.streams.info(stream)).config.num_replicas;
    return out;
  } finally {
    await nc.close();
  }
}

/** The name of the server that leads `stream` now (a cluster), or undefined. */
export async function streamLeader(urls: string[], stream: string): Promise<string | undefined> {
  const nc = await connect({ servers: urls, timeout: 2000, reconnect: false });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 2000 });
    return (await jsm.streams.info(stream)).cluster?.leader;
  } finally {
    await nc.close();
  }
}

/**
 * Moves the leadership of `stream` off the node named `node` (asking its leader to step
 * down until another node leads it), and answers the leader it ends with.
 */
export async function moveStreamLeader(urls: string[], stream: string, node: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  const nc = await connect({ servers: urls, timeout: 2000, reconnect: false });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 2000 });
    for (;;) {
      const leader = await jsm.streams.info(stream).then((i) => i.cluster?.leader, () => undefined);
      if (leader !== undefined && leader !== node) return leader;
      if (Date.now() > deadline) throw new Error(`${stream} is still led by ${String(leader ?? "nobody")} after ${timeoutMs} ms`);
      if (leader === node) await nc.request(`$JS.API.STREAM.LEADER.STEPDOWN.${stream}`, undefined, { timeout: 2000 }).catch(() => undefined);
      await sleep(500);
    }
  } finally {
    await nc.close();
  }
}
