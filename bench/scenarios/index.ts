/** Every scenario, in the order a full run takes them. */
import type { Scenario } from "../lib/scenario.ts";
import { cliStart } from "./cli-start.ts";
import { fanout } from "./fanout.ts";
import { files } from "./files.ts";
import { idle } from "./idle.ts";
import { idleEdges } from "./idle-edges.ts";
import { logins } from "./logins.ts";
import { natsCost } from "./nats-cost.ts";
import { oneToOne } from "./one-to-one.ts";
import { online } from "./online.ts";
import { replay } from "./replay.ts";
import { storm } from "./storm.ts";

export const SCENARIOS: readonly Scenario[] = [oneToOne, fanout, replay, files, idle, idleEdges, storm, logins, natsCost, online, cliStart];
