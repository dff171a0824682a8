/** What a scenario is given, and what it gives back. */
import type { Cred } from "../load/worker.ts";
import type { BenchStack } from "./bench-stack.ts";
import type { Profile } from "./profiles.ts";
import type { Row } from "./report.ts";
import type { WorkerPool } from "./workers.ts";

export interface ScenarioContext {
  readonly profile: Profile;
  readonly pool: WorkerPool;
  /** The shared stack (bcrypt cost 4 for setup speed), started on first use. */
  main(): Promise<BenchStack>;
  /** The first `count` devices registered on the shared stack (registered on demand, reused by scenarios). */
  devices(count: number): Promise<Cred[]>;
  /** A namespace for a baseline, cleaned up with the shared stack's. */
  baselineNamespace(): Promise<string>;
  /** Open files one process may have (the edges and the workers inherit it). */
  readonly fileLimit: number;
  log(message: string): void;
}

export interface Scenario {
  readonly name: string;
  readonly title: string;
  run(ctx: ScenarioContext): Promise<Row[]>;
}
