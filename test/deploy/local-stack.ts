/**
 * deploy/compose.yaml run for real on this machine, through deploy/local/compose.sh (the
 * local images, every container on the host network): a stack on free ports of 127.0.0.1
 * under a project name of its own, so that it meets neither `npm start` nor another run.
 */
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { root, which } from "./support.ts";
import { freePort } from "@natter/kit/testing";

const run = promisify(execFile);

/** The images deploy/local/build-images.sh builds that the local compose file runs. */
export const LOCAL_IMAGES = ["natter:local", "natter-local/nats:bookworm", "natter-local/postgres:bookworm"] as const;

/** Why the stack cannot run here, or undefined when it can. */
export async function whyNoStack(): Promise<string | undefined> {
  if (!which("docker") || !which("docker-compose")) return "docker or docker-compose is not installed (.ci/run installs them)";
  try {
    await run("docker", ["info", "--format", "{{.ServerVersion}}"], { timeout: 20_000 });
  } catch {
    return "no container engine answers (.ci/run starts dockerd)";
  }
  try {
    await run("docker", ["image", "inspect", ...LOCAL_IMAGES], { timeout: 20_000 });
  } catch {
    return `the local images are not built (deploy/local/build-images.sh makes ${LOCAL_IMAGES.join(", ")})`;
  }
  return undefined;
}

/**
 * Brings natter:local up to date with this tree (deploy/local/build-images.sh: seconds when
 * only the sources changed), so that the stack runs the code the `natter` under test speaks to.
 */
export async function rebuildImages(): Promise<void> {
  await run(join(root, "deploy", "local", "build-images.sh"), [], { cwd: root, timeout: 15 * 60_000, maxBuffer: 16 * 1024 * 1024 });
}

const PORTS = [
  "NATS",
  "NATS_MONITOR",
  "POSTGRES",
  "AUTH_HEALTH",
  "GROUP_HEALTH",
  "PRESENCE_HEALTH",
  "EDGE_1",
  "EDGE_1_HEALTH",
  "EDGE_2",
  "EDGE_2_HEALTH",
] as const;

const Inspected = z.array(
  z.object({
    Name: z.string(),
    State: z.object({ Status: z.string(), Health: z.object({ Status: z.string() }).optional() }),
    Config: z.object({ Labels: z.record(z.string(), z.string()).nullable() }),
  }),
);

/** One container of the stack: its compose service, and docker's word on its state and health. */
export interface ContainerState {
  service: string;
  status: string;
  health: string | undefined;
}

export class LocalStack {
  private constructor(
    readonly project: string,
    /** The edges' addresses, as clients dial them: TLS, as compose serves them. */
    readonly edges: readonly [string, string],
    /** The CA that signed the edges' certificate, for the CLI's --ca. */
    readonly ca: string,
    private readonly env: Record<string, string>,
    private readonly envFile: string,
  ) {}

  /**
   * A stack not yet started: free ports, auth's signing key, the services' NATS passwords,
   * the edges' TLS (made by the same script, as a user makes them) and a project name; `scratch` holds the TLS files
   * and an empty env file standing in for a developer's deploy/.env.
   */
  static async prepare(scratch: string): Promise<LocalStack> {
    const ports = Object.fromEntries(await Promise.all(PORTS.map(async (name) => [`NATTER_LOCAL_${name}_PORT`, String(await freePort())] as const)));
    const tlsDir = join(scratch, "tls");
    const jwtKeys = (await run(process.execPath, ["deploy/make-jwt-keys.mjs", "--json", "--tls-dir", tlsDir], { cwd: root })).stdout.trim();
    // Each service's NATS password, NAME=value a line, as a user appends them to deploy/.env.
    const natsPasswords = Object.fromEntries(
      (await run(process.execPath, ["deploy/make-jwt-keys.mjs", "--nats-passwords"], { cwd: root })).stdout
        .trim().split("\n").map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)] as const),
    );
    const envFile = join(scratch, "empty.env");
    await writeFile(envFile, "");
    const env = {
      PATH: process.env["PATH"] ?? "",
      HOME: process.env["HOME"] ?? scratch,
      ...(process.env["DOCKER_HOST"] ? { DOCKER_HOST: process.env["DOCKER_HOST"] } : {}),
      AUTH_JWT_KEYS: jwtKeys,
      ...natsPasswords,
      NATTER_TLS_DIR: tlsDir,
      ...ports,
    };
    const edges = [`tls://127.0.0.1:${ports["NATTER_LOCAL_EDGE_1_PORT"]}`, `tls://127.0.0.1:${ports["NATTER_LOCAL_EDGE_2_PORT"]}`] as const;
    return new LocalStack(`natter-test-${randomBytes(4).toString("hex")}`, edges, join(tlsDir, "ca.crt"), env, envFile);
  }

  /** deploy/local/compose.sh with this stack's project, ports and keys; answers stdout. */
  async compose(args: string[], timeoutMs = 180_000): Promise<string> {
    const { stdout } = await run(join(root, "deploy", "local", "compose.sh"), ["--env-file", this.envFile, "-p", this.project, ...args], {
      cwd: root,
      env: this.env,
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  }

  /** Every container of the project, running or not. */
  async containers(): Promise<ContainerState[]> {
    const { stdout: ids } = await run("docker", ["ps", "-aq", "--filter", `label=com.docker.compose.project=${this.project}`]);
    if (!ids.trim()) return [];
    const { stdout } = await run("docker", ["inspect", ...ids.trim().split(/\s+/)]);
    return Inspected.parse(JSON.parse(stdout)).map((c) => ({
      service: c.Config.Labels?.["com.docker.compose.service"] ?? c.Name,
      status: c.State.Status,
      health: c.State.Health?.Status,
    }));
  }

  /**
   * Waits until every one of `services` runs and its health check passes; answers the
   * last states seen (the caller asserts on them), at the latest after `timeoutMs`.
   */
  async healthy(services: readonly string[], timeoutMs = 180_000): Promise<ContainerState[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await this.containers();
      const ready = services.every((s) => states.some((c) => c.service === s && c.status === "running" && c.health === "healthy"));
      if (ready || Date.now() > deadline) return states;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  /** The last lines of every service's log, for a failure message. */
  async logs(lines = 30): Promise<string> {
    return this.compose(["logs", "--no-color", "--tail", String(lines)], 60_000).catch((err: Error) => `(no logs: ${err.message})`);
  }

  /** Stops and removes every container, network and volume of the project. */
  async down(): Promise<void> {
    await this.compose(["down", "--volumes", "--remove-orphans", "--timeout", "20"]);
  }
}

