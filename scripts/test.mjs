// Runs every test file of the workspace with node:test through tsx.
// `npm test -- <path>...` limits the run to files under the given paths.
import { readdirSync, statSync } from "node:fs";
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
const child = spawn(
  process.execPath,
  ["--import", "tsx", "--test", "--test-reporter=spec", ...files.map((f) => relative(root, f))],
  { cwd: root, stdio: "inherit" },
);
child.on("exit", (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
