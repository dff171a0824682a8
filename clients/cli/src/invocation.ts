import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import type { CliDeps, GlobalOptions } from "./context.ts";
import type { Connection, Dialer } from "./transport/connection.ts";
import { CliError } from "./errors.ts";
import type { History } from "./history.ts";
import type { HomeStore } from "./home-store.ts";
import type { Link, LinkOptions } from "./transport/link.ts";
import type { Messenger } from "./messaging/messenger.ts";
import { Printer } from "./output.ts";
import type { ProgressFactory } from "./progress.ts";
import type { Downloader } from "./receiver.ts";
import type { Settings } from "./settings.ts";
import { DEFAULT_SERVER, formatServer, parseServers, type ServerAddress } from "./transport/servers.ts";

/**
 * One run of a `natter` command: its options resolved, its home opened once, its printer,
 * and the links and messenger it works through.
 */
export class Invocation {
  readonly printer: Printer;
  private homeStore: Promise<HomeStore> | undefined;
  private historyStore: Promise<History> | undefined;
  private caFile: Promise<Uint8Array | undefined> | undefined;

  constructor(readonly deps: CliDeps, readonly options: GlobalOptions) {
    this.printer = new Printer(
      (line) => deps.stdout.write(`${line}\n`),
      (line) => deps.stderr.write(`${line}\n`),
      options.json === true,
    );
  }

  get homeDir(): string {
    return resolve(this.options.home ?? this.deps.env.NATTER_HOME ?? join(homedir(), ".natter"));
  }

  /** Where received files go: --download-dir, else `<home>/downloads`. */
  get downloadDir(): string {
    return resolve(this.options.downloadDir ?? join(this.homeDir, "downloads"));
  }

  /** Progress bars on stderr when it is a terminal and the output is for humans; none otherwise. */
  async progress(): Promise<ProgressFactory> {
    const { noProgress, progressBars } = await import("./progress.ts");
    return this.deps.stderr.isTTY === true && !this.printer.json ? progressBars(this.deps.stderr) : noProgress;
  }

  /** Saves a received file into the download folder over the link's current connection. */
  async downloader(link: () => Link): Promise<Downloader> {
    const [{ downloadFile }, p, progress] = await Promise.all([import("./files.ts"), this.deps.primitives(), this.progress()]);
    return async (ref) => downloadFile(p, await link().connectionNow(), ref, this.downloadDir, progress);
  }

  home(): Promise<HomeStore> {
    this.homeStore ??= import("./home-store.ts").then(({ HomeStore }) => HomeStore.open(this.homeDir));
    return this.homeStore;
  }

  /** The logged-in account's message history in this home (opened once, closed by `close`). */
  history(): Promise<History> {
    this.historyStore ??= (async () => {
      const [{ History }, home] = await Promise.all([import("./history.ts"), this.home()]);
      const account = await home.loggedIn();
      return History.open(join(this.homeDir, "history.sqlite"), account.userId, this.deps.now);
    })();
    return this.historyStore;
  }

  /** This home's settings (`natter config`). */
  async settings(): Promise<Settings> {
    const { readSettings } = await import("./settings.ts");
    return readSettings(this.homeDir);
  }

  /** What a receiver keeps what it shows in, and the settings of receipts. */
  async keeping(): Promise<{ history: History; settings: Settings }> {
    const [history, settings] = await Promise.all([this.history(), this.settings()]);
    return { history, settings };
  }

  /** Releases what this run opened (the history database). */
  async close(): Promise<void> {
    const history = this.historyStore;
    this.historyStore = undefined;
    if (history) (await history.catch(() => undefined))?.close();
  }

  /** --server, else NATTER_SERVER, else the edges this home logged in with, else the default. */
  async servers(): Promise<ServerAddress[]> {
    const given = this.options.server ?? this.deps.env.NATTER_SERVER;
    if (given !== undefined) return parseServers(given);
    const saved = (await (await this.home()).readSession())?.servers;
    return parseServers(saved && saved.length > 0 ? saved.join(",") : DEFAULT_SERVER);
  }

  /**
   * The dialer with this invocation's TLS trust: --ca, else NATTER_CA, else the system's CAs;
   * it warns once per home before plain TCP beyond loopback.
   */
  async dialer(): Promise<Dialer> {
    const path = this.options.ca ?? (this.deps.env.NATTER_CA || undefined);
    this.caFile ??= path === undefined ? Promise.resolve(undefined) : readFile(path).then(
      (pem) => new Uint8Array(pem),
      (cause: unknown) => {
        throw new CliError("NO_FILE", `cannot read the CA file ${path}`, { cause });
      },
    );
    const [ca, { warnOnPlainTcp }] = await Promise.all([this.caFile, import("./transport/plain-tcp-warning.ts")]);
    return warnOnPlainTcp((address) => this.deps.dial(address, ca === undefined ? {} : { ca }), {
      firstTime: async () => (await this.home()).firstPlainTcpWarning(),
      warn: (line) => this.deps.stderr.write(`${line}\n`),
    });
  }

  /** A single connection for login and register (no session to resume yet). */
  async connect(): Promise<Connection> {
    const { connectAny } = await import("./transport/connection.ts");
    return connectAny(await this.servers(), await this.dialer(), this.deps.random, this.handshakeOptions());
  }

  /** An authenticated link using this home's session; started before it is returned. */
  async link(options: Pick<LinkOptions, "receive" | "persistent" | "onDeliver" | "onStatus" | "onReceiveRefused">): Promise<Link> {
    const home = await this.home();
    if (!(await home.readSession())) throw new CliError("NOT_LOGGED_IN");
    const [{ Link }, { resumeSession }] = await Promise.all([import("./transport/link.ts"), import("./session-resume.ts")]);
    const linkOptions: LinkOptions = {
      ...options,
      ...this.handshakeOptions(),
      servers: await this.servers(),
      dial: await this.dialer(),
      random: this.deps.random,
      authenticate: async (connection) => {
        await resumeSession(connection, home);
      },
    };
    // A one-shot command goes through this home's running daemon, if one answers, rather than connect.
    if (options.receive === "off" && !options.persistent) {
      const viaDaemon = await (await import("./daemon/client.ts")).daemonLink(this.homeDir, linkOptions);
      if (viaDaemon) return viaDaemon;
    }
    const link = new Link(linkOptions);
    await link.start();
    return link;
  }

  /** The messaging core over a link (given lazily: a receiver needs its messenger before the link starts). */
  async messenger(link: () => Link): Promise<Messenger> {
    const [{ Messenger }, { edgeApiOverLink }, p, home, history] = await Promise.all([
      import("./messaging/messenger.ts"), import("./messaging/edge-api-over-link.ts"), this.deps.primitives(), this.home(), this.history(),
    ]);
    return new Messenger({
      p,
      home,
      edge: edgeApiOverLink(link),
      now: this.deps.now,
      newId: this.deps.newId,
      notice: (n) => this.printer.notice(n),
      history,
      ...signedPrekeyMaxAge(this.deps.env.NATTER_SIGNED_PREKEY_DAYS),
    });
  }

  serverList(servers: readonly ServerAddress[]): string[] {
    return servers.map(formatServer);
  }

  private handshakeOptions(): { handshakeTimeoutMs?: number; requestTimeoutMs?: number; keepaliveMs?: number } {
    const t = this.deps.timeouts ?? {};
    return {
      ...(t.handshakeMs === undefined ? {} : { handshakeTimeoutMs: t.handshakeMs }),
      ...(t.requestMs === undefined ? {} : { requestTimeoutMs: t.requestMs }),
      ...(t.keepaliveMs === undefined ? {} : { keepaliveMs: t.keepaliveMs }),
    };
  }
}

/** NATTER_SIGNED_PREKEY_DAYS: how many days a signed prekey is used before it is replaced. */
function signedPrekeyMaxAge(days: string | undefined): { signedPrekeyMaxAgeMs?: number } {
  if (days === undefined || days === "") return {};
  const n = Number(days);
  if (!Number.isFinite(n) || n < 1 || n > 90) throw new CliError("USAGE", "NATTER_SIGNED_PREKEY_DAYS must be a number of days from 1 to 90");
  return { signedPrekeyMaxAgeMs: n * 86_400_000 };
}
