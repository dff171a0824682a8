/**
 * How soon the `natter` command answers: `natter --version`, and one-shot `natter who` and
 * `natter send` against the shared stack, each a fresh process started as a user's shell
 * starts it (`clients/cli/bin/natter.js`, which runs the bundle built here first), one at a
 * time; then `who` and `send` again through a `natter daemon` of the same home, which the
 * scenario starts and always stops.
 * Figures: the median wall time from spawn to exit, and the median CPU time (user + system)
 * the process used, which a machine busy with other work changes far less than the wall
 * time. Beside them: a bare `node -e 0` (what any Node command pays) as the baseline, and
 * `who` from the TypeScript sources through tsx (what every run cost before the bundle).
 * `who` includes its round trips to the edge over loopback (connect, resume the session, ask).
 * Through the daemon, the command's own CPU is measured as above and the daemon's share
 * (read from /proc) beside it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildCli } from "../../clients/cli/build.ts";
import { atMostRow, ratioRow, type Row } from "../lib/report.ts";
import type { Scenario } from "../lib/scenario.ts";
import { percentiles } from "../lib/stats.ts";

const root = resolve(import.meta.dirname, "../..");
const BIN = join(root, "clients/cli/bin/natter.js");
const SOURCES = join(root, "clients/cli/src/main.ts");
/** The start a one-shot command should stay within on this kind of machine (issue: "within 300 ms"). */
const TARGET_MS = 300;
/** How long the daemon may take to serve, and to end once told to before it is killed. */
const DAEMON_START_MS = 30_000;
const DAEMON_STOP_MS = 10_000;
/**
 * An address nothing listens on, given to the commands timed beside the daemon: one that
 * did not go through the daemon could not connect, and the scenario would fail.
 */
const NOWHERE = "127.0.0.1:1";
/** Clock ticks a second in /proc's CPU times (USER_HZ). */
const TICKS = 100;
const ENV = { ...process.env, NATTER_HOME: "", NATTER_SERVER: "" };

interface Timing { wallMs: number; cpuMs: number }

/**
 * Runs one process to its end under `sh`, whose `times` then reports the CPU its child
 * used; answers the wall time and that CPU time in ms (fails on a non-zero exit).
 */
function timed(args: string[], stdin = ""): Promise<Timing> {
  const script = '"$0" "$@" > /dev/null || exit $?; times';
  const started = performance.now();
  const child = spawn("sh", ["-c", script, process.execPath, ...args], { stdio: ["pipe", "pipe", "pipe"], env: ENV });
  child.stdin.end(stdin);
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  return new Promise((done, fail) => {
    child.on("error", fail);
    child.on("close", (code) => {
      const wallMs = performance.now() - started;
      // `times`: the shell's own user and system time, then its children's (`0m0.070000s 0m0.040000s`).
      const children = out.trim().split("\n").at(-1) ?? "";
      const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
      if (code !== 0 || seconds.length !== 2) fail(new Error(`${args.slice(-2).join(" ")} exited ${code}: ${err.slice(0, 300)}`));
      else done({ wallMs, cpuMs: (seconds[0]! + seconds[1]!) * 1000 });
    });
  });
}

async function median(runs: number, args: string[]): Promise<Timing> {
  await timed(args); // warms the file cache: every figure is a warm start
  const runsDone: Timing[] = [];
  for (let i = 0; i < runs; i++) runsDone.push(await timed(args));
  return { wallMs: percentiles(runsDone.map((t) => t.wallMs)).p50, cpuMs: percentiles(runsDone.map((t) => t.cpuMs)).p50 };
}

interface Daemon {
  /** The CPU (user + system) the daemon has used so far, in ms; null where /proc cannot be read. */
  cpuMs(): Promise<number | null>;
  /** Ends it: SIGTERM, then SIGKILL if it has not ended within DAEMON_STOP_MS. */
  stop(): Promise<void>;
}

/** Starts `natter daemon` on the home; answers once it says it serves (or fails, having stopped it). */
async function startDaemon(global: string[]): Promise<Daemon> {
  const child = spawn(process.execPath, [BIN, ...global, "--json", "daemon"], { stdio: ["ignore", "pipe", "pipe"], env: ENV });
  const ended = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const daemon: Daemon = {
    async cpuMs() {
      const stat = await readFile(`/proc/${child.pid}/stat`, "utf8").catch(() => undefined);
      // After the command's name in parentheses: state is field 3, utime and stime 14 and 15.
      const fields = stat?.slice(stat.lastIndexOf(")") + 2).split(" ");
      return fields === undefined ? null : ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
    },
    async stop() {
      if (!running(child)) return;
      child.kill("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([ended, new Promise<void>((resolve) => (timer = setTimeout(resolve, DAEMON_STOP_MS)))]);
      clearTimeout(timer);
      if (running(child)) {
        child.kill("SIGKILL");
        await ended;
      }
    },
  };
  let out = "";
  let err = "";
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  try {
    await new Promise<void>((ready, fail) => {
      const timer = setTimeout(() => fail(new Error(`natter daemon did not serve within ${DAEMON_START_MS} ms: ${err.slice(0, 300)}`)), DAEMON_START_MS);
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes('"status":"daemon"')) (clearTimeout(timer), ready());
      });
      child.once("error", (e) => (clearTimeout(timer), fail(e)));
      child.once("exit", (code) => (clearTimeout(timer), fail(new Error(`natter daemon exited ${code} before serving: ${err.slice(0, 300)}`))));
    });
  } catch (e) {
    await daemon.stop();
    throw e;
  }
  return daemon;
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** `median`, beside a daemon: also what the daemon's CPU grew by, per run (the warm-up counted). */
async function medianBeside(daemon: Daemon, runs: number, args: string[]): Promise<Timing & { daemonCpuMs: number | null }> {
  const before = await daemon.cpuMs();
  const t = await median(runs, args);
  const after = await daemon.cpuMs();
  return { ...t, daemonCpuMs: before === null || after === null ? null : (after - before) / (runs + 1) };
}

export const cliStart: Scenario = {
  name: "cli-start",
  title: "the natter command's start: --version, one-shot who and send, with and without a daemon",
  async run(ctx) {
    const { runs } = ctx.profile.cliStart;
    ctx.log("building the CLI bundle");
    const built = await buildCli();
    const stack = await ctx.main();
    const server = stack.edges.map((e) => `${e.host}:${e.port}`).join(",");
    const home = await mkdtemp(join(tmpdir(), "natter-bench-cli-"));
    const peerHome = await mkdtemp(join(tmpdir(), "natter-bench-cli-peer-"));
    let daemon: Daemon | undefined;
    try {
      const global = ["--home", home, "--server", server];
      const peer = `clistartpeer${process.pid}`;
      ctx.log("registering two CLI accounts");
      await timed([BIN, ...global, "register", `clistart${process.pid}`, "--password-stdin"], "bench-cli-password\n");
      await timed([BIN, "--home", peerHome, "--server", server, "register", peer, "--password-stdin"], "bench-cli-password\n");
      ctx.log(`timing ${runs} runs of each`);
      const node = await median(runs, ["-e", "0"]);
      // Built again just before each, so a source saved meanwhile does not send the bin to tsx.
      await buildCli();
      const version = await median(runs, [BIN, "--version"]);
      await buildCli();
      const who = await median(runs, [BIN, ...global, "who"]);
      const send = await median(runs, [BIN, ...global, "send", peer, "cli start"]);
      const whoFromSources = await median(runs, ["--import", "tsx", SOURCES, ...global, "who"]);
      ctx.log("timing who and send through a running natter daemon");
      await buildCli();
      daemon = await startDaemon(global);
      const viaDaemon = ["--home", home, "--server", NOWHERE];
      const whoViaDaemon = await medianBeside(daemon, runs, [BIN, ...viaDaemon, "who"]);
      const sendViaDaemon = await medianBeside(daemon, runs, [BIN, ...viaDaemon, "send", peer, "cli start"]);
      await daemon.stop();
      const daemonNote = (t: { daemonCpuMs: number | null }) =>
        `the daemon's CPU besides: ${t.daemonCpuMs === null ? "not measured" : `${Math.round(t.daemonCpuMs)} ms`} a run`;
      const scenario = `cli start (median of ${runs})`;
      const rows: Row[] = [
        { ...ratioRow({ scenario, figure: "natter --version", unit: "ms", natter: version.wallMs, baseline: node.wallMs }), note: `baseline: node -e 0; bundle built in ${Math.round(built.ms)} ms` },
        { ...atMostRow({ scenario, figure: "natter who (one-shot, loopback edge)", unit: "ms", natter: who.wallMs, baseline: node.wallMs }, TARGET_MS), note: "baseline: node -e 0" },
        { scenario, figure: "natter who from the sources through tsx", unit: "ms", natter: whoFromSources.wallMs, note: "what each run cost before the bundle" },
        { ...ratioRow({ scenario, figure: "natter --version, CPU (user + system)", unit: "ms", natter: version.cpuMs, baseline: node.cpuMs }), note: "sh's times, 10 ms steps" },
        ratioRow({ scenario, figure: "natter who, CPU (user + system)", unit: "ms", natter: who.cpuMs, baseline: node.cpuMs }),
        { scenario, figure: "natter who from the sources through tsx, CPU (user + system)", unit: "ms", natter: whoFromSources.cpuMs },
        { ...ratioRow({ scenario, figure: "natter send (one-shot, loopback edge)", unit: "ms", natter: send.wallMs, baseline: node.wallMs }), note: "a text to an account with a session already" },
        ratioRow({ scenario, figure: "natter send, CPU (user + system)", unit: "ms", natter: send.cpuMs, baseline: node.cpuMs }),
        { ...atMostRow({ scenario, figure: "natter who through a running daemon", unit: "ms", natter: whoViaDaemon.wallMs, baseline: node.wallMs }, TARGET_MS), note: "natter daemon of the same home" },
        { ...ratioRow({ scenario, figure: "natter who through a running daemon, CPU (user + system)", unit: "ms", natter: whoViaDaemon.cpuMs, baseline: node.cpuMs }), note: daemonNote(whoViaDaemon) },
        ratioRow({ scenario, figure: "natter send through a running daemon", unit: "ms", natter: sendViaDaemon.wallMs, baseline: node.wallMs }),
        { ...ratioRow({ scenario, figure: "natter send through a running daemon, CPU (user + system)", unit: "ms", natter: sendViaDaemon.cpuMs, baseline: node.cpuMs }), note: daemonNote(sendViaDaemon) },
      ];
      return rows;
    } finally {
      await daemon?.stop();
      await rm(home, { recursive: true, force: true });
      await rm(peerHome, { recursive: true, force: true });
    }
  },
};
