/** An edge run on a test host (a network namespace): the same entry the stack launches, under `ip netns exec`. */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { resolve } from "node:path";
import type { TestHost } from "./netns.ts";

const ROOT = resolve(import.meta.dirname, "../../..");

export interface NetnsEdge { child: ChildProcess; host: string; port: number; exited: Promise<void> }

/** Starts an edge on `host` listening on `port`; resolves once it listens (30 s at most). */
export async function startEdgeInNetns(host: TestHost, port: number, env: Record<string, string>, onLog: (line: string) => void): Promise<NetnsEdge> {
  const child = spawn("ip", ["netns", "exec", host.netns, process.execPath, "--import", "tsx", resolve(ROOT, "services/edge/src/main.ts")], {
    cwd: ROOT,
    env: { ...process.env, ...env, EDGE_HOST: host.address, EDGE_PORT: String(port), EDGE_NAME: `edge-${host.name}` },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  createInterface({ input: child.stderr! }).on("line", onLog);
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`edge on ${host.name} did not listen within 30 s`)), 30_000);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      onLog(line);
      if (line.includes('"edge listening"')) {
        clearTimeout(timer);
        ready();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      fail(new Error(`edge on ${host.name} exited at start`));
    });
  });
  return { child, host: host.address, port, exited };
}

/** SIGTERM, then SIGKILL after 10 s; resolves when it has exited. */
export async function stopEdge(edge: NetnsEdge): Promise<void> {
  if (edge.child.exitCode !== null || edge.child.signalCode !== null) return;
  edge.child.kill("SIGTERM");
  const timer = setTimeout(() => edge.child.kill("SIGKILL"), 10_000);
  await edge.exited;
  clearTimeout(timer);
}
