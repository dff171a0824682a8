/**
 * The benchmark harness works: every scenario runs at a tiny size against the real stack
 * and reports sane numbers. No timing threshold is checked here — performance is judged
 * by `npm run bench`, never by tests.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runBench, scenarioNames } from "./lib/harness.ts";
import type { Row } from "./lib/report.ts";

const THROUGHPUT_UNITS = new Set(["/s", "MB/s"]);
/**
 * Memory figures are differences of two readings (after − before, over a handful of
 * connections at smoke size), which a collection in between can make negative: the
 * harness must give a number, and the full run is where its size means something.
 */
const MEMORY_UNITS = new Set(["KiB", "MiB"]);

describe("the benchmark harness", () => {
  it("runs every scenario at smoke size with positive figures and nothing lost", async () => {
    const report = await runBench({ mode: "smoke" });
    const failures = report.rows.filter((r) => r.figure === "run");
    assert.deepEqual(failures.map((r) => `${r.scenario}: ${r.note}`), [], "no scenario failed");

    for (const name of scenarioNames()) {
      assert.ok(report.rows.some((r) => r.bench === name && r.natter !== null), `scenario ${name} measured something`);
    }

    const measured = (r: Row) => r.natter !== null;
    for (const row of report.rows.filter(measured)) {
      const where = `${row.scenario} / ${row.figure}`;
      assert.ok(Number.isFinite(row.natter), `${where}: ${row.natter} is a number`);
      if (!MEMORY_UNITS.has(row.unit)) assert.ok(row.natter! >= 0, `${where}: ${row.natter} is ≥ 0`);
      if (THROUGHPUT_UNITS.has(row.unit)) {
        assert.ok(row.natter! > 0, `${where}: natter moved something`);
        if (typeof row.baseline === "number") assert.ok(row.baseline > 0, `${where}: the baseline moved something`);
      }
      if (/\blost\b/.test(row.figure)) {
        assert.equal(row.natter, 0, `${where}: nothing lost`);
        if (typeof row.baseline === "number") assert.equal(row.baseline, 0, `${where}: the baseline lost nothing`);
      }
    }
    assert.ok(report.machine.cores > 0 && report.machine.node.startsWith("v"), "the machine is described");
  });
});
