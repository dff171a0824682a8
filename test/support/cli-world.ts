/**
 * `natter` run in this process (runCli, captured output, the real dialer) against the real
 * services started in this process on a fresh database and NATS namespace: one world per
 * test file.
 */
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { dial } from "../../clients/cli/src/transport/dial.ts";
import { run, start, tempDir, until, type Run, type Target } from "../../clients/cli/src/testing/harness.ts";
import { startServers, type Servers } from "./in-process.ts";
import { RecordingProxy } from "./recording-proxy.ts";
import { ServerProbe } from "./server-probe.ts";

/** The password of every account `registered` makes. */
export const PASSWORD = "correct horse battery";

/** One test file's servers, a probe into them, a recording proxy in front of the edge, and a folder for homes. */
export class CliWorld {
  /** natter straight to the (first) edge. */
  readonly target: Target;
  /** natter through the recording proxy to the same edge. */
  readonly recorded: Target;
  private n = 0;
  private readonly running: Run[] = [];

  private constructor(
    readonly servers: Servers,
    readonly probe: ServerProbe,
    readonly proxy: RecordingProxy,
    private readonly dir: { path: string; [Symbol.asyncDispose](): Promise<void> },
  ) {
    this.target = { dial, server: servers.address() };
    this.recorded = { dial, server: proxy.address };
  }

  /** `env` goes to auth and the edges (e.g. AUTH_TOKEN_TTL, EDGE_CHUNK_SIZE). */
  static async start(env: Record<string, string> = {}): Promise<CliWorld> {
    // Every in-process natter comes from one address: lift the per-address login limit.
    const servers = await startServers({ env: { AUTH_ADDR_LIMIT: "100000", ...env } });
    const opened: Array<() => Promise<void>> = [() => servers.stop()];
    try {
      const probe = await ServerProbe.open(servers);
      opened.unshift(() => probe.close());
      const proxy = await RecordingProxy.start(servers.address());
      opened.unshift(() => proxy.stop());
      return new CliWorld(servers, probe, proxy, await tempDir());
    } catch (error) {
      for (const close of opened) await close();
      throw error;
    }
  }

  /** A fresh path for a home (or anything else) in this world's folder. */
  path(name: string): string {
    return join(this.dir.path, `${name}-${this.n++}`);
  }

  /** Writes a file to send, named `name`, in a folder of its own; answers its path. */
  async fileToSend(name: string, bytes: Uint8Array): Promise<string> {
    const dir = this.path("src");
    await mkdir(dir);
    await writeFile(join(dir, name), bytes);
    return join(dir, name);
  }

  /** Registers `name` with PASSWORD in a fresh home; answers the home. */
  async registered(name: string, target = this.target): Promise<string> {
    const home = this.path(name);
    const r = await run(target, ["--home", home, "register", name, "--password-stdin"], { stdin: `${PASSWORD}\n` });
    assert.equal(r.code, 0, r.err);
    return home;
  }

  /** Starts a natter that stays (listen, the shell); stopped with the world. */
  start(argv: string[], { target = this.target, ...options }: { stdin?: string; target?: Target } = {}): Run {
    const r = start(target, argv, options);
    this.running.push(r);
    return r;
  }

  /** `natter listen` from `home`, once it says it listens and presence has it online. */
  async listening(home: string, globalArgs: string[] = []): Promise<Run> {
    const r = this.start(["--home", home, ...globalArgs, "listen"]);
    let exited = false;
    void r.code.then(() => (exited = true));
    await until(() => exited || /listening/.test(r.stdout.text + r.stderr.text), 10_000, "the listener to listen");
    assert.ok(!exited, `the listener ended: ${r.stderr.text}`);
    await this.probe.presenceSettled();
    return r;
  }

  /** Every edge drops every client connection, as a dying edge would. */
  dropConnections(): void {
    for (const edge of this.servers.edges) for (const c of [...edge.listener.connections]) c.close();
  }

  /** Every edge tells every client it is shutting down, as a draining edge does. */
  sayShutdown(): void {
    for (const edge of this.servers.edges) for (const c of [...edge.listener.connections]) c.shutdown();
  }

  async stop(): Promise<void> {
    for (const r of this.running) r.interrupt.abort();
    await Promise.all(this.running.map((r) => r.code));
    await this.proxy.stop();
    await this.probe.close();
    await this.servers.stop();
    await this.dir[Symbol.asyncDispose]();
  }
}
