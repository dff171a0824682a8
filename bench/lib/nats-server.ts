/** A nats-server of the bench's own, with its monitoring port, for reading /varz and /jsz. */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@natter/kit/testing";

export interface OwnNats {
  readonly url: string;
  /** The server's process, for reading its CPU time. */
  readonly pid: number;
  varz(): Promise<{ mem: number; cpu: number; connections: number; subscriptions: number; version: string }>;
  jsz(): Promise<{ consumers: number; streams: number; memory: number; storage: number }>;
  stop(): Promise<void>;
}

export async function startOwnNats(): Promise<OwnNats> {
  const dir = await mkdtemp(join(tmpdir(), "natter-bench-nats-"));
  const port = await freePort();
  const monitor = await freePort();
  const child: ChildProcess = spawn("nats-server", ["-js", "-a", "127.0.0.1", "-p", String(port), "-m", String(monitor), "-sd", dir], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const get = async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${monitor}/${path}`);
    return (await response.json()) as Record<string, unknown>;
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await get("varz");
      break;
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) {
        await stop();
        throw new Error("nats-server did not start (is it on PATH?)");
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    pid: child.pid!,
    async varz() {
      const v = await get("varz");
      return { mem: Number(v["mem"]), cpu: Number(v["cpu"]), connections: Number(v["connections"]), subscriptions: Number(v["subscriptions"]), version: String(v["version"]) };
    },
    async jsz() {
      const j = await get("jsz");
      return { consumers: Number(j["consumers"]), streams: Number(j["streams"]), memory: Number(j["memory"]), storage: Number(j["storage"]) };
    },
    stop,
  };
}
