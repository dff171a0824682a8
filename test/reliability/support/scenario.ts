/**
 * One reliability scenario: its own nats-server(s) and Postgres, the natter stack on them
 * (auth, group, presence, two edges), five users — four with a `natter listen` running for
 * the whole scenario, one who only sends probes — a group of all five, background traffic,
 * and faults injected one at a time. Everything it starts it stops in `tearDown`.
 */
import type { ChildProcess } from "node:child_process";
import assert from "node:assert/strict";
import { it } from "node:test";
import { chmodSync, createWriteStream, mkdtempSync, rmSync, writeFileSync, type WriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Listener, natter, newHome } from "../../support/cli.ts";
import { startStack, type ServiceProcess, type Stack } from "../../../scripts/stack.ts";
import { NatsNode, startNatsCluster, startNatsNode, waitForJetStream } from "./nats-server.ts";
import { sleep } from "./net.ts";
import { SuitePostgres } from "./postgres.ts";
import { Traffic, type Counts, type User } from "./traffic.ts";
import { checkLoad, DEFAULT_LOAD, loadTable, SustainedLoad } from "./load.ts";
import type { PhaseCounts } from "./load-worker.ts";

const PASSWORD = "reliability horse battery";
export const NAMESPACE = "rel";
export const GROUP = "crew";

export interface FaultRecord {
  name: string;
  /** How long the fault lasted (from injection to healing). */
  heldMs: number;
  /** From healing until a probe message sent then was shown by its recipient. */
  recoveryMs: number;
  /** Sends of the background load running at some moment of the fault, and how many of those failed. */
  sendsDuring: number;
  failedDuring: number;
  /** The longest time from the start of an accepted send to its last recipient showing it, among those sent around the fault. */
  worstLatencyMs: number;
  /** The fault's part of the run: from its traffic starting to its traffic stopped. */
  windowStart: number;
  windowEnd: number;
}

export class Scenario {
  readonly work: string;
  nats: NatsNode[] = [];
  pg: SuitePostgres | undefined;
  stack: Stack | undefined;
  /** The four users with a listener. */
  users: User[] = [];
  /** Sends probes; a member of the group, no listener. */
  prober!: User;
  traffic!: Traffic;
  /** Sustained 1:1 and group traffic from load-generator processes, through every fault. */
  load: SustainedLoad | undefined;
  readonly faults: FaultRecord[] = [];
  private readonly paused = new Set<ChildProcess>();
  private readonly homes: string[] = [];
  private unwatch: () => void = () => undefined;
  /** Error-level service log lines: by the style guide, each one is a bug. */
  readonly errorLogs: string[] = [];
  private readonly log: WriteStream;
  private readonly started = Date.now();
  /** A step failed: `tearDown` keeps the work dir for a look. */
  failed = false;

  /** `load: false` runs the CLI traffic alone; `rate` (messages a second) changes the load's. */
  constructor(readonly name: string, private readonly opts: { cluster: boolean; load?: boolean; rate?: number }) {
    this.work = mkdtempSync(join(tmpdir(), `natter-reliability-${name}-`));
    // Postgres runs as the postgres user when the suite runs as root: it must get to its data dir.
    chmodSync(this.work, 0o711);
    this.log = createWriteStream(join(this.work, "services.log"));
  }

  get natsUrls(): string[] {
    return this.nats.map((n) => n.url);
  }

  get servers(): string {
    return this.stack!.servers;
  }

  async setUp(): Promise<void> {
    try {
      await this.start();
    } catch (err) {
      this.failed = true;
      throw err;
    }
  }

  private async start(): Promise<void> {
    this.nats = this.opts.cluster ? await startNatsCluster(join(this.work, "nats")) : [await startNatsNode(join(this.work, "nats"))];
    await waitForJetStream(this.natsUrls);
    this.pg = await SuitePostgres.start(join(this.work, "pg"));
    const databaseUrl = await this.pg.createDatabase("natter");
    this.stack = await startStack({
      natsUrl: this.natsUrls.join(","),
      databaseUrl,
      namespace: NAMESPACE,
      edgePorts: [0, 0],
      env: {
        NODE_ENV: "test", AUTH_BCRYPT_COST: "4", AUTH_ADDR_LIMIT: "100000", LOG_LEVEL: process.env["NATTER_RELIABILITY_LOG_LEVEL"] ?? "info",
        // The load's devices all log in from loopback: limits meant for abuse must not bite.
        EDGE_MAX_WAITING_PER_ADDR: "100000", EDGE_MAX_WAITING: "100000", EDGE_PRELOGIN_RATE: "100000", EDGE_SEND_RATE: "1000000",
        ...(this.opts.cluster ? { NATTER_REPLICAS: "3" } : {}),
      },
      onLog: (service, line) => {
        this.log.write(`[${service}] ${line}\n`);
        const error = errorLine(line);
        if (error) this.errorLogs.push(`${service}: ${error}`);
      },
    });
    const names = ["alice", "bob", "carol", "dave", "eve"];
    const all = await Promise.all(names.map((n) => this.register(n)));
    this.users = all.slice(0, 4);
    this.prober = all[4]!;
    const created = await natter(this.users[0]!.home, this.servers, ["group", "create", GROUP, ...names.slice(1)]);
    if (created.code !== 0) throw new Error(`group create: ${created.stderr}`);
    for (const u of this.users) u.listener = new Listener(u.home, this.servers, ["--download-dir", u.downloads]);
    await Promise.all(this.users.map((u) => u.listener!.waitFor((l) => l["status"] === "listening", 1, 30_000)));
    this.traffic = new Traffic({ users: this.users, group: { name: GROUP, members: all }, servers: () => this.servers, work: this.work, tag: this.name });
    this.unwatch = this.traffic.watch();
    const edges = this.stack.edges.map((e) => ({ host: "127.0.0.1", port: e.port }));
    if (this.opts.load === false) return;
    const shape = this.opts.rate ? { ...DEFAULT_LOAD, rate: this.opts.rate } : undefined;
    this.load = await SustainedLoad.start({ natsUrl: this.natsUrls.join(","), namespace: NAMESPACE, edges, tag: this.name, phase: "baseline", ...(shape ? { shape } : {}) });
  }

  private async register(name: string): Promise<User> {
    const home = newHome();
    this.homes.push(home);
    const result = await natter(home, this.servers, ["register", name, "--password-stdin"], { stdin: `${PASSWORD}\n` });
    if (result.code !== 0) throw new Error(`register ${name}: ${result.stderr}`);
    return { name, home, downloads: join(home, "downloads") };
  }

  /** Background traffic with nothing wrong, so sessions and sender keys exist before the faults. */
  async baseline(ms: number): Promise<void> {
    this.traffic.phase = "baseline";
    const load = this.traffic.startLoad();
    await sleep(ms);
    await load.stop();
  }

  /**
   * With traffic flowing: `inject`, wait `holdMs`, `heal`, then send probes (from the
   * prober) until one gets through to its recipient; records the recovery time.
   */
  async fault(name: string, f: {
    inject(): Promise<void>;
    holdMs: number;
    heal(): Promise<void>;
    probe: { kind: "direct" | "group"; to: string };
  }): Promise<FaultRecord> {
    const { traffic } = this;
    traffic.phase = `before ${name}`;
    const windowStart = Date.now();
    await this.load?.phase(name);
    const load = traffic.startLoad();
    let injectedAt = 0;
    let healedAt = 0;
    let recoveryMs = 0;
    try {
      await sleep(1500);
      traffic.phase = name;
      injectedAt = Date.now();
      await f.inject();
      await sleep(f.holdMs);
      await f.heal();
      healedAt = Date.now();
      traffic.phase = `after ${name}`;
      recoveryMs = await traffic.probe(f.probe.kind, this.prober, f.probe.to, healedAt);
    } finally {
      await load.stop();
    }
    // Sends of the background load that were running at some moment of the fault.
    const during = traffic.attempts.filter((a) => !a.probe && a.startedAt < healedAt && a.startedAt + (a.ms ?? 0) > injectedAt);
    const record: FaultRecord = {
      name,
      heldMs: healedAt - injectedAt,
      recoveryMs,
      sendsDuring: during.length,
      failedDuring: during.filter((a) => !a.accepted).length,
      worstLatencyMs: 0,
      windowStart,
      windowEnd: Date.now(),
    };
    this.faults.push(record);
    return record;
  }

  /** SIGSTOP: the service hangs without dying (its sockets stay open) until `resume`. */
  suspend(service: ServiceProcess): void {
    this.paused.add(service.child);
    service.child.kill("SIGSTOP");
  }

  resume(service: ServiceProcess): void {
    service.child.kill("SIGCONT");
    this.paused.delete(service.child);
  }

  /**
   * Resends what failed, waits for everything accepted to be shown, and counts. The
   * sustained load first goes on, with nothing wrong, until it has run MIN_LOAD_MS and had
   * `minLoadAccepted` sends accepted (at most MAX_LOAD_MS): how many sends a fault refuses
   * depends on how long its election took, and a run whose faults refused many, or healed
   * quickly, would otherwise have carried too little to count.
   */
  async finish(minLoadAccepted = 0, settleMs = 60_000): Promise<{ counts: Counts; loadCounts: PhaseCounts[]; problems: string[]; listenersAlive: string[]; errorLogs: string[] }> {
    if (this.load) {
      const load = this.load;
      const ran = () => performance.now() - load.startedAt;
      const short = async () => ran() < MIN_LOAD_MS || (await load.accepted()) < minLoadAccepted;
      if (await short()) {
        await load.phase("after the faults");
        while (ran() < MAX_LOAD_MS && (await short())) await sleep(500);
      }
    }
    const loadCounts = this.load ? await this.load.finish(settleMs) : [];
    if (this.load) {
      writeFileSync(join(this.work, "load-ledger.json"), JSON.stringify(loadCounts, null, 1));
      for (const line of loadTable(this.name, loadCounts, (this.load.stoppedAt - this.load.startedAt) / 1000)) console.log(line);
    }
    this.traffic.phase = "resends";
    await this.traffic.resendFailed();
    await this.traffic.settle(settleMs);
    for (const f of this.faults) {
      const around = this.traffic.attempts.filter((a) => a.accepted && a.startedAt >= f.windowStart && a.startedAt <= f.windowEnd);
      f.worstLatencyMs = Math.max(0, ...around.map((a) => this.traffic.latency(a) ?? 0));
    }
    for (const u of this.users) {
      writeFileSync(join(this.work, `${u.name}.listen.jsonl`), u.listener!.lines.map((l) => JSON.stringify(l)).join("\n"));
      writeFileSync(join(this.work, `${u.name}.listen.stderr`), u.listener!.stderr.join("\n"));
    }
    writeFileSync(join(this.work, "ledger.json"), JSON.stringify(this.traffic.attempts.map(({ from, file: _f, ...a }) => ({ ...a, from: from.name })), null, 1));
    const listenersAlive = this.users.filter((u) => u.listener!.child.exitCode === null && u.listener!.child.signalCode === null).map((u) => u.name);
    const problems = await this.traffic.problems();
    // A warning from a listener (a file given up on, a message that did not decrypt) is a message the user did not get.
    for (const u of this.users) {
      for (const line of u.listener!.stderr) if (line.includes('"warning"')) problems.push(`${u.name}'s listener warned: ${line}`);
    }
    return { counts: this.traffic.counts(), loadCounts, problems, listenersAlive, errorLogs: this.errorLogs };
  }

  /** The counts and recovery times as printable lines. */
  summary(counts: Counts): string[] {
    return [
      `reliability ${this.name}: ${this.faults.length} faults injected, ${counts.sent} messages sent, ${counts.accepted} accepted, ` +
        `${counts.delivered} delivered, ${counts.lost} lost, ${counts.duplicated} duplicated ` +
        `(${counts.failed} sends failed during faults and were sent again, ${counts.failedButDelivered} of them stored anyway; ` +
        `${counts.copiesShown}/${counts.copiesExpected} copies shown; ${Math.round((Date.now() - this.started) / 1000)} s)`,
      ...this.faults.map((f) => `  ${f.name}: held ${seconds(f.heldMs)}, probe shown ${seconds(f.recoveryMs)} after healing; ` +
        `${f.failedDuring} of ${f.sendsDuring} sends running during the fault failed; slowest accepted message around it shown after ${seconds(f.worstLatencyMs)}`),
    ];
  }

  /** Stops everything this scenario started, whatever state it is in; keeps its work dir (logs, stores, ledger) after a failure or with NATTER_RELIABILITY_KEEP=1. */
  async tearDown(): Promise<void> {
    const keep = this.failed || process.env["NATTER_RELIABILITY_KEEP"] === "1";
    this.unwatch();
    await this.load?.stop().catch(() => undefined);
    for (const child of this.paused) child.kill("SIGCONT");
    this.paused.clear();
    await Promise.all(this.users.map((u) => u.listener && stopChild(u.listener.child, "SIGINT")));
    await this.stack?.stop().catch(() => undefined);
    await Promise.all(this.nats.map((n) => n.stop("SIGTERM").catch(() => undefined)));
    await this.pg?.halt().catch(() => undefined);
    await new Promise<void>((done) => this.log.end(done));
    if (keep) console.log(`reliability ${this.name}: logs and stores kept in ${this.work}`);
    else rmSync(this.work, { recursive: true, force: true });
    if (!keep) for (const home of this.homes) rmSync(home, { recursive: true, force: true });
  }
}

/** The least a scenario's sustained load runs before it is stopped and counted. */
const MIN_LOAD_MS = 25_000;
/** The most it runs waiting to have carried its threshold's worth. */
const MAX_LOAD_MS = 75_000;

/** A node:test step of `scenario`; a failure marks the scenario failed (its work dir is kept). */
export function step(scenario: Scenario, name: string, fn: () => Promise<void>, timeout = 90_000): void {
  it(name, { timeout }, async () => {
    try {
      await fn();
    } catch (err) {
      scenario.failed = true;
      throw err;
    }
  });
}

/**
 * The last step of a scenario: resend what failed, wait, print the counts, and check that
 * every accepted message was shown once to each recipient, no listener warned or died,
 * and no service logged an error.
 */
export function finalCheck(scenario: Scenario, minAccepted: number, minLoadAccepted: number): void {
  step(scenario, "delivered every accepted message, none twice, to listeners that reconnected by themselves", async () => {
    const { counts, loadCounts, problems, listenersAlive, errorLogs } = await scenario.finish(minLoadAccepted);
    for (const line of scenario.summary(counts)) console.log(line);
    assert.deepEqual(problems, []);
    assert.deepEqual(errorLogs, [], "no service logged an error (the faults are outages, not bugs)");
    assert.deepEqual(listenersAlive, scenario.users.map((u) => u.name), "every listener is still the one started at the beginning");
    assert.equal(counts.lost, 0);
    assert.equal(counts.duplicated, 0);
    assert.equal(counts.delivered, counts.accepted);
    assert.ok(counts.accepted >= minAccepted, `traffic did flow (${counts.accepted} accepted)`);
    if (scenario.load) checkLoad(loadCounts, minLoadAccepted);
  }, 180_000);
}

/** "message: error" of a pino line at error level or above, else undefined. */
function errorLine(line: string): string | undefined {
  try {
    const entry = JSON.parse(line) as { level?: unknown; msg?: unknown; err?: { message?: unknown } };
    if (typeof entry.level !== "number" || entry.level < 50) return undefined;
    return `${String(entry.msg)}${entry.err?.message === undefined ? "" : `: ${String(entry.err.message)}`}`;
  } catch {
    return undefined;
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}
