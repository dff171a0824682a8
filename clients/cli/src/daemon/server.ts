import { chmod, unlink } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { CliError } from "../errors.ts";
import type { HomeStore } from "../home-store.ts";
import { errorResponse, notification, RPC_ERRORS, RpcError, type RpcNotification, type RpcResponse } from "./json-rpc.ts";
import { LineFraming, MAX_LINE_BYTES } from "./line-framing.ts";

/** The daemon's socket in the home. */
export const SOCKET_FILE = "daemon.sock";

/** Answers one line of input: a response, or nothing (the line was a notification). Never throws. */
export type LineHandler = (line: string) => Promise<RpcResponse | undefined>;

/** A caller that reads notifications more slowly than they come is let go past this much unread output. */
const MAX_UNREAD_OUTPUT = 16 * 1024 * 1024;

/** Requests of one caller read but not yet answered, past which its input waits. */
const MAX_IN_FLIGHT = 256;

/** The longest Unix socket path the kernel takes (sun_path is 108 bytes on Linux, 104 on macOS). */
const MAX_SOCKET_PATH = 103;

/**
 * The daemon's callers: every client of its Unix socket (mode 0600) and, with --stdio, its
 * standard streams. Each speaks newline-delimited JSON-RPC; each gets the answers to its
 * requests and every notification.
 */
export class DaemonServer {
  private readonly peers = new Set<Peer>();
  private server: Server | undefined;
  private socketPath: string | undefined;

  constructor(private readonly handle: LineHandler) {}

  /**
   * Listens on `path`, under the home's lock so two daemons starting together cannot both
   * take it. A socket a live daemon answers on is refused; one left by a daemon that died
   * (nobody answers) is replaced.
   */
  async listen(path: string, home: HomeStore): Promise<void> {
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
      throw new CliError("USAGE", `the daemon's socket path is too long for a Unix socket (${path}): use a home with a shorter path`);
    }
    await home.withLock(async () => {
      if (await answers(path)) {
        throw new CliError("HOME_LOCKED", `a natter daemon already runs on this home (socket ${path}): stop it first, or send it requests`);
      }
      await unlink(path).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOENT") throw err;
      });
      // Half-open: a caller may send its requests, end its side, and still read the answers.
      const server = createServer({ allowHalfOpen: true }, (socket) => void this.serve(socket, socket, true));
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(path, () => {
          server.off("error", reject);
          resolve();
        });
      });
      // The home is 0700 already; the socket is the account's alone as well.
      await chmod(path, 0o600);
      this.server = server;
      this.socketPath = path;
    });
  }

  /**
   * Serves one caller on a pair of streams (a socket, or stdin and stdout); resolves once its
   * input has ended and every request in it is answered. `owned` streams (a socket) are
   * ended and destroyed with the caller; stdout is left open.
   */
  serve(input: NodeJS.ReadableStream, output: Output, owned: boolean): Promise<void> {
    const peer = new Peer(output, this.handle, owned);
    this.peers.add(peer);
    return new Promise<void>((resolve) => {
      const finish = (): void => {
        this.peers.delete(peer);
        resolve();
      };
      input.on("data", (chunk: Buffer | string) => {
        peer.read(chunk);
        // A caller far ahead of its answers is read no further until they catch up.
        if (peer.inFlight >= MAX_IN_FLIGHT) {
          input.pause();
          peer.onCaughtUp = () => input.resume();
        }
      });
      input.on("end", () => {
        peer.end();
        void peer.drained().then(() => {
          if (owned) output.end();
          finish();
        });
      });
      input.on("close", () => {
        void peer.drained().then(() => {
          peer.close();
          finish();
        });
      });
      input.on("error", () => {
        peer.close();
        finish();
      });
      output.on("error", () => peer.close());
    });
  }

  /** Sends a notification to every caller. */
  notify(method: string, params: Record<string, unknown>): void {
    const message = notification(method, params);
    for (const peer of this.peers) peer.write(message);
  }

  /** Stops accepting callers, waits for the answers under way, lets every caller go and removes the socket. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    await Promise.all([...this.peers].map((p) => p.drained()));
    for (const peer of this.peers) peer.close();
    this.peers.clear();
    await closed;
    if (this.socketPath !== undefined) await unlink(this.socketPath).catch(() => undefined);
  }
}

type Output = NodeJS.WritableStream & { writableLength?: number; destroy?(): void };

/** One caller: its input cut into lines, each answered in turn on its output. */
class Peer {
  private readonly framing = new LineFraming(MAX_LINE_BYTES);
  private answering: Promise<void> = Promise.resolve();
  private closed = false;
  /** Lines read and not yet answered. */
  inFlight = 0;
  /** Called once, when fewer than half of MAX_IN_FLIGHT are left unanswered. */
  onCaughtUp: (() => void) | undefined;

  constructor(
    private readonly output: Output,
    private readonly handle: LineHandler,
    private readonly owned: boolean,
  ) {}

  read(chunk: Buffer | string): void {
    this.take(this.framing.push(chunk));
  }

  end(): void {
    this.take(this.framing.end());
  }

  /** Resolves once every line read so far is answered. */
  drained(): Promise<void> {
    return this.answering;
  }

  write(message: RpcResponse | RpcNotification): void {
    if (this.closed) return;
    if ((this.output.writableLength ?? 0) > MAX_UNREAD_OUTPUT) {
      this.close();
      return;
    }
    this.output.write(`${JSON.stringify(message)}\n`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.owned) this.output.destroy?.();
  }

  private answered(): void {
    this.inFlight--;
    if (this.onCaughtUp && this.inFlight < MAX_IN_FLIGHT / 2) {
      const resume = this.onCaughtUp;
      this.onCaughtUp = undefined;
      resume();
    }
  }

  private take(framed: ReturnType<LineFraming["push"]>): void {
    for (const f of framed) {
      if (f.kind === "too-long") {
        const error = new RpcError(RPC_ERRORS.INVALID_REQUEST, `invalid request: a line is at most ${MAX_LINE_BYTES} bytes`);
        this.answering = this.answering.then(() => this.write(errorResponse(null, error)));
        continue;
      }
      this.inFlight++;
      const answer = this.handle(f.line);
      // Answers go in the order the requests came.
      this.answering = this.answering.then(async () => {
        const response = await answer;
        if (response) this.write(response);
        this.answered();
      });
    }
  }
}

/** Whether a daemon answers on `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket: Socket = connect(path);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
