/** Runs scenarios and gathers their rows: used by `npm run bench` and the smoke test. */
import pg from "pg";
import { SCENARIOS } from "../scenarios/index.ts";
import type { Cred } from "../load/worker.ts";
import { startBenchStack, type BenchStack } from "./bench-stack.ts";
import { fileLimit } from "./proc.ts";
import { PROFILES, type Mode } from "./profiles.ts";
import { machineInfo, natsServerVersion, type Report, type Row } from "./report.ts";
import type { ScenarioContext } from "./scenario.ts";
import { WorkerPool } from "./workers.ts";

export interface BenchOptions {
  mode: Mode;
  /** Scenario names; all when absent. */
  scenarios?: string[];
  workers?: number;
  log?: (message: string) => void;
  /** Rows as they come, for a live display. */
  onRow?: (row: Row) => void;
}

export function scenarioNames(): string[] {
  return SCENARIOS.map((s) => s.name);
}

export async function runBench(options: BenchOptions): Promise<Report> {
  const profile = { ...PROFILES[options.mode], ...(options.workers ? { workers: options.workers } : {}) };
  const log = options.log ?? (() => undefined);
  const wanted = options.scenarios?.length ? options.scenarios : scenarioNames();
  const unknown = wanted.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown.length) throw new Error(`unknown scenario ${unknown.join(", ")}; known: ${scenarioNames().join(", ")}`);

  const startedAt = new Date();
  const limits = fileLimit();
  const machine = machineInfo(natsServerVersion(), await postgresVersion(), limits);
  const rows: Row[] = [];
  const add = (row: Row) => {
    rows.push(row);
    options.onRow?.(row);
  };

  log(`starting ${profile.workers} load-generator processes`);
  const pool = await WorkerPool.start(profile.workers);
  let main: Promise<BenchStack> | undefined;
  const devices: Cred[] = [];
  const registration = { count: 0, ms: 0 };
  let baselines = 0;
  const ctx: ScenarioContext = {
    profile,
    pool,
    fileLimit: limits.soft,
    log,
    main: () => {
      main ??= (async () => {
        log("starting the stack (auth, group, 2 edges; bcrypt cost 4)");
        return startBenchStack({ bcryptCost: 4 });
      })();
      return main;
    },
    async devices(count) {
      if (devices.length < count) {
        const stack = await ctx.main();
        log(`registering ${count - devices.length} devices`);
        const { creds, ms } = await stack.register(count - devices.length, { prefix: `p${devices.length}` });
        devices.push(...creds);
        registration.count += creds.length;
        registration.ms += ms;
      }
      return devices.slice(0, count);
    },
    async baselineNamespace() {
      return `${(await ctx.main()).namespace}-b${++baselines}`;
    },
  };

  try {
    for (const scenario of SCENARIOS.filter((s) => wanted.includes(s.name))) {
      log(`scenario ${scenario.name}: ${scenario.title}`);
      const t0 = performance.now();
      try {
        for (const row of await scenario.run(ctx)) add({ bench: scenario.name, ...row });
      } catch (error) {
        const stack = main ? await main.catch(() => undefined) : undefined;
        const problems = stack?.problems().slice(-5).join(" | ");
        add({
          bench: scenario.name, scenario: scenario.name, figure: "run", unit: "", natter: null, met: false,
          note: `failed: ${(error as Error).message}${problems ? `; service log: ${problems}` : ""}`,
        });
      }
      log(`scenario ${scenario.name} took ${Math.round((performance.now() - t0) / 1000)} s`);
    }
    if (registration.count > 0) {
      add({
        bench: "setup", scenario: "setup", figure: "registrations/s (bcrypt cost 4, auth register verb)", unit: "/s",
        natter: (registration.count / registration.ms) * 1000,
        note: `${registration.count} devices registered in ${Math.round(registration.ms / 1000)} s for the shared stack`,
      });
    }
  } finally {
    await pool.stop();
    if (main) await (await main.catch(() => undefined))?.stop();
  }
  machine.loadAverageAtEnd = machineInfo("", "", limits).loadAverageAtStart;
  return {
    startedAt: startedAt.toISOString(),
    mode: options.mode,
    scenarios: wanted,
    durationS: (Date.now() - startedAt.getTime()) / 1000,
    machine,
    rows,
  };
}

async function postgresVersion(): Promise<string> {
  const client = new pg.Client({ connectionString: process.env["DATABASE_URL"] || "postgres://postgres@127.0.0.1:5432/postgres" });
  try {
    await client.connect();
    const { rows } = await client.query<{ server_version: string }>("SHOW server_version");
    return rows[0]?.server_version ?? "unknown";
  } catch {
    return "unknown";
  } finally {
    await client.end().catch(() => undefined);
  }
}
