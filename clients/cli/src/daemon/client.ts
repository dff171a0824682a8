import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { z } from "zod";
import { isErrorCode, parse, type ServerFrameOf } from "@natter/protocol";
import { CLIENT_ERRORS, CliError } from "../errors.ts";
import type { Connection, RequestBody, ServerFrameType } from "../transport/connection.ts";
import { Link, type LinkOptions } from "../transport/link.ts";
import { EDGE_RELAY_METHOD, relayAnswer, relayRequest } from "./edge-relay.ts";
import { LineFraming } from "./line-framing.ts";
import { SOCKET_FILE } from "./server.ts";

/** How long a one-shot command waits for a daemon's socket to accept before it connects on its own. */
const CONNECT_TIMEOUT_MS = 500;

const Response = z.object({
  jsonrpc: z.literal("2.0"),
  id: z.union([z.number(), z.string(), z.null()]),
  result: z.unknown().optional(),
  error: z.object({ code: z.number(), message: z.string(), data: z.object({ code: z.string() }).optional() }).optional(),
});

/**
 * A JSON-RPC client of this home's daemon, over its socket. Notifications are ignored:
 * a one-shot command only asks.
 */
export class DaemonClient {
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly framing = new LineFraming();
  private nextId = 1;
  private closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => this.read(chunk));
    socket.on("close", () => this.fail(new CliError("CONNECTION_LOST", "the natter daemon went away")));
    socket.on("error", () => undefined);
  }

  /** Connects to the daemon of `home`; none when no daemon answers there. */
  static async open(home: string): Promise<DaemonClient | undefined> {
    const socket = connect(join(home, SOCKET_FILE));
    const connected = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), CONNECT_TIMEOUT_MS);
      socket.once("connect", () => (clearTimeout(timer), resolve(true)));
      socket.once("error", () => (clearTimeout(timer), resolve(false)));
    });
    if (!connected) {
      socket.destroy();
      return undefined;
    }
    return new DaemonClient(socket);
  }

  /** Calls a method; a JSON-RPC error is thrown as natter's error of the same code. */
  request(method: string, params: unknown): Promise<unknown> {
    if (this.closed) return Promise.reject(new CliError("CONNECTION_LOST", "the natter daemon went away"));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.write(`${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`);
    });
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    for (const framed of this.framing.push(chunk)) {
      if (framed.kind !== "line") continue;
      let message: z.infer<typeof Response>;
      try {
        message = parse(Response, JSON.parse(framed.line));
      } catch {
        continue; // a notification (no id) or a line not for this client
      }
      if (typeof message.id !== "number") continue;
      const waiter = this.pending.get(message.id);
      if (!waiter) continue;
      this.pending.delete(message.id);
      if (message.error) waiter.reject(natterError(message.error.data?.code, message.error.message));
      else waiter.resolve(message.result);
    }
  }

  private fail(err: Error): void {
    this.closed = true;
    for (const waiter of this.pending.values()) waiter.reject(err);
    this.pending.clear();
  }
}

/**
 * A one-shot command's link when the home's daemon runs: requests to the edge go through
 * the daemon's connection. A command that needs a connection of its own (a file's upload
 * or download) gets one, opened then as any link's.
 */
export class DaemonLink extends Link {
  private own: Promise<void> | undefined;

  constructor(options: LinkOptions, private readonly daemon: DaemonClient) {
    super(options);
  }

  override async call<T extends ServerFrameType>(body: RequestBody, expect: T): Promise<ServerFrameOf<T>> {
    return relayAnswer(await this.daemon.request(EDGE_RELAY_METHOD, relayRequest(body, expect)), expect);
  }

  override async connectionNow(): Promise<Connection> {
    this.own ??= super.start();
    await this.own;
    return super.connectionNow();
  }

  override async close(): Promise<void> {
    this.daemon.close();
    await super.close();
  }
}

/** The link of a one-shot command through this home's daemon, or none when no daemon runs. */
export async function daemonLink(home: string, options: LinkOptions): Promise<Link | undefined> {
  const client = await DaemonClient.open(home);
  return client === undefined ? undefined : new DaemonLink(options, client);
}

/** natter's error of the code the daemon gave (its catalogue's), or an unexpected one. */
function natterError(code: string | undefined, message: string): Error {
  if (code !== undefined && (isErrorCode(code) || isClientErrorCode(code))) return new CliError(code, message);
  return new Error(message);
}

function isClientErrorCode(code: string): code is keyof typeof CLIENT_ERRORS {
  return Object.hasOwn(CLIENT_ERRORS, code);
}
