/**
 * Reliability across a network partition: the three nodes of an R3 NATS cluster and one
 * edge each run on a test host of their own (network namespaces joined by a bridge, on
 * this machine only); auth, group, presence, a second edge and Postgres run on the
 * machine itself. Under sustained 1:1 and group traffic the node leading INBOX is cut off
 * from everything, held apart, then healed. No accepted message may be lost or shown
 * twice. Where namespaces cannot be made (not root, no CAP_NET_ADMIN) this case skips and
 * says why.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, createWriteStream, mkdtempSync, rmSync, type WriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { names } from "@natter/protocol";
import { startStack, type Stack } from "../../scripts/stack.ts";
import { startEdgeInNetns, stopEdge, type NetnsEdge } from "./support/edge-in-netns.ts";
import { checkLoad, loadTable, SustainedLoad } from "./support/load.ts";
import { NatsNode, streamLeader, waitForJetStream } from "./support/nats-server.ts";
import { sleep } from "./support/net.ts";
import { HOST_ADDRESS, sweep, TestNetwork, unavailable, type TestHost } from "./support/netns.ts";
import { SuitePostgres } from "./support/postgres.ts";

const NAMESPACE = "relp";
const { inboxStream } = names(NAMESPACE);
const HOLD_MS = 10_000;
const skip = unavailable();
if (skip) console.log(`reliability partition: skipped: ${skip}`);

let work = "";
let log: WriteStream | undefined;
const errorLogs: string[] = [];
let net: TestNetwork | undefined;
let nodes: Array<{ node: NatsNode; host: TestHost }> = [];
let pg: SuitePostgres | undefined;
let stack: Stack | undefined;
let edge: NetnsEdge | undefined;
let load: SustainedLoad | undefined;
let failed = false;

function onLog(service: string, line: string): void {
  log?.write(`[${service}] ${line}\n`);
  if (/"level":(5\d|60)/.test(line)) errorLogs.push(`${service}: ${line}`);
}

/** A step; a failure keeps the work dir for a look. */
function step(name: string, fn: () => Promise<void>, timeout = 120_000): void {
  it(name, { timeout }, async () => {
    try {
      await fn();
    } catch (error) {
      failed = true;
      throw error;
    }
  });
}

describe("reliability across a network partition of the NATS cluster", { skip, timeout: 360_000 }, () => {
  before(async () => {
    try {
      work = mkdtempSync(join(tmpdir(), "natter-reliability-partition-"));
      // Postgres runs as the postgres user when the suite runs as root: it must get to its data dir.
      chmodSync(work, 0o711);
      log = createWriteStream(join(work, "services.log"));
      net = TestNetwork.create();
      const hosts = ["n1", "n2", "n3"].map((name, i) => net!.addHost(name, 11 + i));
      const edgeHost = net.addHost("e1", 21);
      nodes = hosts.map((host) => ({
        host,
        node: new NatsNode({
          name: host.name, port: 4222, dir: join(work, "nats", host.name), host: host.address, netns: host.netns,
          cluster: { name: "natter-partition", port: 6222, routes: [] },
          routeUrls: hosts.filter((h) => h !== host).map((h) => `nats://${h.address}:6222`),
        }),
      }));
      await Promise.all(nodes.map(({ node }) => node.start()));
      const urls = nodes.map(({ node }) => node.url);
      await waitForJetStream(urls, 60_000);
      pg = await SuitePostgres.start(join(work, "pg"));
      const env = {
        NODE_ENV: "test", AUTH_BCRYPT_COST: "4", AUTH_ADDR_LIMIT: "100000", LOG_LEVEL: "info", NATTER_REPLICAS: "3",
        // The load's devices all log in from one or a few addresses: limits meant for abuse must not bite.
        EDGE_MAX_WAITING_PER_ADDR: "100000", EDGE_MAX_WAITING: "100000", EDGE_PRELOGIN_RATE: "100000", EDGE_SEND_RATE: "1000000",
      };
      stack = await startStack({
        natsUrl: urls.join(","), databaseUrl: await pg.createDatabase("natter"), namespace: NAMESPACE, edgePorts: [0], env, onLog,
      });
      edge = await startEdgeInNetns(edgeHost, 7400, { ...env, NATS_URL: urls.join(","), NATTER_NAMESPACE: NAMESPACE, DATABASE_URL: "postgres://unused" },
        (line) => onLog("edge-e1", line));
      load = await SustainedLoad.start({
        natsUrl: urls.join(","), namespace: NAMESPACE, tag: "partition", phase: "baseline",
        edges: [{ host: "127.0.0.1", port: stack.edges[0]!.port }, { host: edge.host, port: edge.port, from: HOST_ADDRESS }],
      });
    } catch (error) {
      failed = true;
      throw error;
    }
  }, { timeout: 180_000 });

  after(async () => {
    await load?.stop().catch(() => undefined);
    if (edge) await stopEdge(edge).catch(() => undefined);
    await stack?.stop().catch(() => undefined);
    await Promise.all(nodes.map(({ node }) => node.stop("SIGKILL").catch(() => undefined)));
    await pg?.halt().catch(() => undefined);
    net?.destroy();
    // Whatever a crash in the middle left.
    sweep();
    if (log) await new Promise<void>((done) => log!.end(done));
    if (!work) return;
    if (failed || process.env["NATTER_RELIABILITY_KEEP"] === "1") console.log(`reliability partition: logs and stores kept in ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }, { timeout: 90_000 });

  step("carries traffic across the test hosts with nothing wrong", () => sleep(5000));

  step("keeps every accepted message while the INBOX leader's host is cut off and healed", async () => {
    const urls = nodes.map(({ node }) => node.url);
    const leader = await streamLeader(urls, inboxStream);
    const victim = nodes.find(({ node }) => node.options.name === leader);
    assert.ok(victim, `${inboxStream} has a leader among the nodes (${String(leader)})`);
    await load!.phase(`partition: ${victim.host.name} (INBOX leader) cut off ${HOLD_MS / 1000} s`);
    net!.cut(victim.host);
    await sleep(HOLD_MS);
    net!.heal(victim.host);
    await waitForJetStream(urls, 60_000, inboxStream);
    await load!.phase("after healing");
    await sleep(10_000);
  });

  step("delivered every accepted message, none twice", async () => {
    const counts = await load!.finish(60_000);
    for (const line of loadTable("partition", counts, (load!.stoppedAt - load!.startedAt) / 1000)) console.log(line);
    checkLoad(counts, 5000);
    assert.deepEqual(errorLogs, [], "no service logged an error (a partition is an outage, not a bug)");
  }, 150_000);
});
