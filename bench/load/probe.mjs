// Loaded into natter's service processes by the bench through NODE_OPTIONS=--import, so the
// services need no code for it. With BENCH_PROBE_LOOP=1, every BENCH_PROBE_MS it writes one
// line to stderr with the process's memory and the event-loop delay seen in that interval
// (ms). On SIGUSR2 it collects garbage and reports memory at once, so the bench can read
// what is really held. The delay's histogram wakes the process every 5 ms, about 1.4 % of
// a core in an idle service, and the lines wake it too: they run only where a scenario
// reads them, not where idle CPU is measured.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

const every = Number(process.env.BENCH_PROBE_MS) || 500;
if (process.env.BENCH_PROBE_LOOP === "1") {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  const ms = (ns) => Math.round(ns / 1e4) / 100;
  setInterval(() => {
    const line = { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max), rss: process.memoryUsage.rss() };
    histogram.reset();
    process.stderr.write(`BENCHPROBE ${JSON.stringify(line)}\n`);
  }, every).unref();
}

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc");
process.on("SIGUSR2", () => {
  gc();
  gc();
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
  // The young generation's space stays as large as the last burst grew it, empty or not.
  const youngSpace = getHeapSpaceStatistics().find((space) => space.space_name === "new_space")?.space_size ?? 0;
  process.stderr.write(`BENCHGC ${JSON.stringify({ rss, heapUsed, external, arrayBuffers, youngSpace })}\n`);
});

// `npm run bench -- --cpu-prof`: a V8 CPU profile of the whole life of the process,
// written when it exits (Node refuses --cpu-prof in NODE_OPTIONS, so it is started here).
const profileDir = process.env.NATTER_BENCH_CPU_PROF;
if (profileDir) {
  const { Session } = await import("node:inspector");
  const { mkdirSync, writeFileSync } = await import("node:fs");
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.start");
  process.on("exit", () => {
    // An in-process session answers synchronously, so this works inside "exit".
    session.post("Profiler.stop", (error, result) => {
      if (error) return;
      mkdirSync(profileDir, { recursive: true });
      const service = /services\/([^/]+)\//.exec(process.argv[1] ?? "")?.[1] ?? "node";
      const name = `${service}-${process.pid}.cpuprofile`;
      writeFileSync(`${profileDir}/${name}`, JSON.stringify(result.profile));
    });
  });
}
