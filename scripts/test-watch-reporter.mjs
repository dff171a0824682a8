// A node:test reporter that prints nothing while tests move, and names every test that
// has been running for more than a minute, once a minute, on its own destination (stderr).
// A run that stalls then says where, instead of going quiet until something kills it.
import { appendFileSync } from "node:fs";
import { relative } from "node:path";

const everyMs = Number(process.env.NATTER_TEST_WATCH_MS ?? 60_000);

export default async function* watch(source) {
  const running = new Map();
  const timer = setInterval(() => {
    // Tests of a file run one at a time: the one started last is the innermost.
    const innermost = new Map();
    for (const test of running.values()) innermost.set(test.file, test);
    const now = Date.now();
    for (const { file, name, since } of innermost.values()) {
      const s = Math.round((now - since) / 1000);
      if (s >= everyMs / 1000) process.stderr.write(`test still running after ${s} s: ${file} › ${name}\n`);
    }
  }, everyMs);
  timer.unref();
  try {
    for await (const { type, data } of source) {
      // Node 20 passes a file's tests on live only as dequeue (started) and complete.
      const key = `${data.file}\0${data.nesting}\0${data.name}`;
      if (type === "test:dequeue") {
        running.set(key, { file: data.file ? relative(process.cwd(), data.file) : "?", name: data.name, since: Date.now() });
      } else if (type === "test:complete") {
        running.delete(key);
      } else if (type === "test:fail" && data.nesting === 0 && data.file && process.env.NATTER_TEST_FAILED_FILES) {
        // scripts/test.mjs reads which files failed, to tell a hung file from a failing one.
        appendFileSync(process.env.NATTER_TEST_FAILED_FILES, `${data.file}\n`);
      }
    }
  } finally {
    clearInterval(timer);
  }
  yield "";
}
