/**
 * `npm run bench [-- --quick] [-- --scenario <name>]…`: runs natter's benchmarks on this
 * machine, each beside a baseline measured in the same run, prints a table and writes
 * bench/results/<date>.json and .md.
 */
import { spawnSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { runBench, scenarioNames } from "./lib/harness.ts";
import { fileLimit } from "./lib/proc.ts";
import type { Mode } from "./lib/profiles.ts";
import { markdown, terminalTable } from "./lib/report.ts";

const { values } = parseArgs({
  options: {
    scenario: { type: "string", multiple: true },
    quick: { type: "boolean", default: false },
    smoke: { type: "boolean", default: false },
    workers: { type: "string" },
    list: { type: "boolean", default: false },
    "cpu-prof": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help || values.list) {
  console.log(values.list ? scenarioNames().join("\n") : [
    "usage: npm run bench -- [--quick | --smoke] [--scenario <name>]... [--workers <n>] [--cpu-prof] [--list]",
    `scenarios: ${scenarioNames().join(", ")}`,
    "--quick: small sizes, a few minutes; --smoke: tiny sizes, seconds (what npm test runs)",
    "--cpu-prof: every service writes a V8 CPU profile to bench/results/profiles/ when it stops",
  ].join("\n"));
  process.exit(0);
}

// The edges inherit this process's open-file limit: raise the soft limit to the hard one
// (all a process may do by itself) by running again under a shell that does it.
const limit = fileLimit();
if (limit.soft < limit.hard && !process.env["NATTER_BENCH_REEXEC"]) {
  const result = spawnSync("sh", ["-c", 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, NATTER_BENCH_REEXEC: "1" },
  });
  process.exit(result.status ?? 1);
}

if (values["cpu-prof"]) {
  process.env["NATTER_BENCH_CPU_PROF"] = resolve(import.meta.dirname, "results", "profiles");
}

const mode: Mode = values.smoke ? "smoke" : values.quick ? "quick" : "full";
const scenarios = (values.scenario ?? []).flatMap((s) => s.split(",")).filter(Boolean);
const stamp = () => new Date().toISOString().slice(11, 19);

const report = await runBench({
  mode,
  scenarios,
  ...(values.workers ? { workers: Number(values.workers) } : {}),
  log: (message) => console.error(`[${stamp()}] ${message}`),
});

console.log("");
console.log(terminalTable(report.rows));
const dir = resolve(import.meta.dirname, "results");
await mkdir(dir, { recursive: true });
const name = report.startedAt.slice(0, 19).replaceAll(":", "-");
await writeFile(resolve(dir, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
await writeFile(resolve(dir, `${name}.md`), markdown(report));
console.log(`\nwrote bench/results/${name}.json and .md (${mode}, ${Math.round(report.durationS)} s)`);
process.exit(report.rows.some((r) => r.figure === "run" && r.met === false) ? 1 : 0);
