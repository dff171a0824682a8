// Runs every test file of the workspace with node:test through tsx.
// `npm test -- <path>...` limits the run to files under the given paths.
// Nothing waits for ever: a test has 10 minutes, a file's process ends with its last test,
// a test running for over a minute is named on stderr every minute, a file whose process
// is stuck is killed and run once more (see `killHung`), and the whole run stops after
// NATTER_TEST_DEADLINE_MIN minutes (30 by default) as a failure.
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { spawn } from "node:child_process";

const root = resolve(import.meta.dirname, "..");
const skip = new Set(["node_modules", ".git", "dist", "results"]);

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    if (skip.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else if (name.endsWith(".test.ts")) yield path;
  }
}

const roots = ["packages", "services", "clients", "test", "bench"].map((d) => join(root, d));
const filters = process.argv.slice(2).map((p) => resolve(p));
const files = roots
  .flatMap((dir) => { try { return [...walk(dir)]; } catch { return []; } })
  .filter((f) => filters.length === 0 || filters.some((p) => f.startsWith(p)))
  .sort();

if (files.length === 0) {
  console.error("no test files found");
  process.exit(1);
}
console.log(`running ${files.length} test files`);

/** Runs `paths` under node:test; resolves with its exit code and the files whose process was found hung. */
function run(paths) {
  const failedFiles = join(mkdtempSync(join(tmpdir(), "natter-test-")), "failed");
  const child = spawn(
    process.execPath,
    [
      "--import", "tsx", "--test", "--test-timeout=600000", "--test-force-exit",
      "--test-reporter=spec", "--test-reporter-destination=stdout",
      `--test-reporter=${join(import.meta.dirname, "test-watch-reporter.mjs")}`, "--test-reporter-destination=stderr",
      ...paths.map((f) => relative(root, f)),
    ],
    { cwd: root, stdio: "inherit", detached: true, env: { ...process.env, NATTER_TEST_FAILED_FILES: failedFiles } },
  );
  const hung = new Set();
  const watch = setInterval(() => {
    for (const file of killHung(child.pid)) hung.add(file);
  }, HUNG_CHECK_MS);
  const deadline = setTimeout(() => {
    console.error(`the tests did not finish within ${deadlineMin} minutes: stopped (the lines above name what was running)`);
    process.kill(-child.pid, "SIGKILL");
  }, deadlineMin * 60_000);
  // The child leads its own process group, so that the deadline stops what its tests started;
  // an interrupt is passed on to all of it.
  const interrupt = (sig) => process.kill(-child.pid, sig);
  for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, interrupt);
  return new Promise((resolve) => child.on("exit", (code, signal) => {
    clearTimeout(deadline);
    clearInterval(watch);
    for (const sig of ["SIGINT", "SIGTERM"]) process.off(sig, interrupt);
    const failed = existsSync(failedFiles) ? readFileSync(failedFiles, "utf8").split("\n").filter(Boolean) : [];
    resolve({ code: signal ? 1 : (code ?? 1), failed, hung: [...hung] });
  }));
}

/**
 * A test file's process that has used no CPU for `HUNG_AFTER_MS` is stuck, not slow: Node
 * 20's module loader, which runs tsx's hooks on a thread of its own, now and then leaves
 * the main thread waiting on it for ever before a file's first test (seen in CI and here,
 * one run in a few, always before any test started). No timer of the test's own can fire
 * then. Such a process is killed, and its file named, so that it can run again.
 */
const HUNG_AFTER_MS = Number(process.env.NATTER_TEST_HUNG_AFTER_S ?? 240) * 1000;
const HUNG_CHECK_MS = Math.min(30_000, HUNG_AFTER_MS / 4);
const cpuSeen = new Map();

function killHung(runner) {
  const killed = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    let stat, cmdline;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[1]) !== runner) continue;
    const file = cmdline.at(-1);
    if (!file?.endsWith(".test.ts")) continue;
    const cpu = Number(fields[11]) + Number(fields[12]);
    const seen = cpuSeen.get(pid);
    if (!seen || seen.cpu !== cpu) {
      cpuSeen.set(pid, { cpu, since: Date.now() });
      continue;
    }
    if (Date.now() - seen.since < HUNG_AFTER_MS) continue;
    console.error(`test file stuck with no CPU for ${HUNG_AFTER_MS / 1000} s: ${relative(root, file)} (killed)`);
    process.kill(Number(pid), "SIGKILL");
    killed.push(file);
  }
  return killed;
}

const deadlineMin = Number(process.env.NATTER_TEST_DEADLINE_MIN ?? 30);
const first = await run(files);
// Files that only failed because their process hung run once more, alone.
const onlyHung = first.code !== 0 && first.hung.length > 0 && first.failed.every((f) => first.hung.includes(f));
if (!onlyHung) process.exit(first.code);
console.error(`running again the files whose process hung: ${first.hung.map((f) => relative(root, f)).join(", ")}`);
process.exit((await run(first.hung)).code);
