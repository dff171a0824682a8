import { randomUUID } from "node:crypto";
import type { Duplex } from "node:stream";
import { ClientFrame, decodeBody, FrameReader, NatterError, parse, writeFrame, type ServerFrame } from "@natter/protocol";
import type { Logger } from "@natter/kit";
import type { EdgeMetrics } from "./domain/ports.ts";
import { TokenBucket } from "./domain/token-bucket.ts";

/** After this many frames that could not be understood, the connection is closed. */
const MAX_BAD_FRAMES = 10;
const KEEPALIVE_MS = 30_000;
/** How long a graceful close waits for what was written to leave before destroying the socket. */
const GRACEFUL_CLOSE_MS = 2000;

/** The socket a connection speaks over: a TCP or TLS socket, or any duplex stream in tests. */
export interface FrameSocket extends Duplex {
  readonly remoteAddress?: string | undefined;
  setNoDelay?(noDelay?: boolean): unknown;
  setKeepAlive?(enable?: boolean, initialDelay?: number): unknown;
}

/** What a connection's transport is given by its edge. */
export interface TransportContext {
  readonly maxFrame: number;
  /** Messages a connection may send per second (token bucket, burst twice this). */
  readonly sendRate: number;
  /** A connection that has not logged in after this long is closed. */
  readonly loginTimeoutMs: number;
  readonly logger: Logger;
  readonly metrics: Pick<EdgeMetrics, "frameIn" | "frameOut">;
}

/** What a handler sees of the connection it serves. */
export interface Client {
  readonly id: string;
  /** True once the connection has closed: nothing more is sent. */
  readonly closed: boolean;
  /** The peer's address, as told to auth. */
  readonly address: string;
  /** Bytes written and still waiting in the socket. */
  readonly buffered: number;
  readonly log: Logger;
  /** Resolves once the socket has written out what waits in it. */
  drained(): Promise<void>;
  push(frame: ServerFrame): void;
  /** Answers request `id` (or no request) with the error: a NatterError as it is, anything else as INTERNAL. */
  replyError(id: number | undefined, error: unknown): void;
  /** Ends the connection; a graceful close lets what was written reach the client first. */
  close(options?: { graceful?: boolean }): void;
}

/**
 * The transport of one client connection: splits the byte stream into frames, checks
 * each against the protocol, refuses all but `hello` until the client has said it, and
 * hands the rest to `dispatch`. Every request is answered exactly once, by its handler or
 * here with `{t:"error", id, code, message}`. Guards the frame size, the send rate and
 * the time allowed to log in, and closes after too many frames it could not understand.
 * What the handlers keep per connection lives on the subclass, so that an idle
 * connection is one object.
 */
export abstract class FrameConnection<C extends TransportContext = TransportContext> implements Client {
  readonly id = randomUUID();
  private readonly reader: FrameReader;
  private logger: Logger | undefined;
  private readonly bucket: TokenBucket;
  private loginTimer: NodeJS.Timeout | undefined;
  private greeted = false;
  private open = true;
  private badFrames = 0;

  constructor(private readonly socket: FrameSocket, protected readonly ctx: C) {
    this.reader = new FrameReader(ctx.maxFrame);
    this.bucket = new TokenBucket(ctx.sendRate, ctx.sendRate * 2);
    this.loginTimer = setTimeout(() => this.close(), ctx.loginTimeoutMs);
    socket.setNoDelay?.(true);
    socket.setKeepAlive?.(true, KEEPALIVE_MS);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", () => this.close());
    socket.on("close", () => this.close());
  }

  /** Handles one frame the protocol allows; what it throws is answered as an error. */
  protected abstract dispatch(frame: ClientFrame): Promise<void>;

  /** Lets go of whatever the handlers hold for this connection; runs once, as it closes. */
  protected abstract release(): void;

  get closed(): boolean {
    return !this.open;
  }

  get address(): string {
    return this.socket.remoteAddress ?? "unknown";
  }

  get buffered(): number {
    return this.socket.writableLength;
  }

  /** Made when first needed: most connections never log, and idle ones should cost little. */
  get log(): Logger {
    return (this.logger ??= this.ctx.logger.child({ conn: this.id }));
  }

  drained(): Promise<void> {
    return new Promise((resolve) => this.socket.once("drain", resolve));
  }

  /** The client said hello: its other frames are taken from now on. */
  greet(): void {
    this.greeted = true;
  }

  /** The client logged in: the login timer is done (and dropped: idle connections should cost little). */
  loggedIn(): void {
    clearTimeout(this.loginTimer);
    this.loginTimer = undefined;
  }

  /** Spends one token of the send rate; false when the client is sending too fast. */
  takeSendToken(): boolean {
    return this.bucket.take();
  }

  close(options: { graceful?: boolean } = {}): void {
    if (!this.open) return;
    this.open = false;
    clearTimeout(this.loginTimer);
    this.release();
    if (options.graceful) {
      this.socket.end();
      setTimeout(() => this.socket.destroy(), GRACEFUL_CLOSE_MS).unref();
    } else {
      this.socket.destroy();
    }
  }

  replyError(id: number | undefined, error: unknown): void {
    if (!(error instanceof NatterError)) {
      this.log.error({ err: error instanceof Error ? error.message : String(error) }, "request failed");
      error = new NatterError("INTERNAL");
    }
    const { code, message } = error as NatterError;
    this.push(id === undefined ? { t: "error", code, message } : { t: "error", id, code, message });
  }

  push(frame: ServerFrame): void {
    if (!this.open || !this.socket.writable) return;
    this.ctx.metrics.frameOut(frame.t);
    writeFrame(this.socket, frame);
  }

  private onData(chunk: Buffer): void {
    let bodies: Buffer[];
    try {
      bodies = this.reader.push(chunk);
    } catch (error) {
      this.replyError(undefined, error);
      this.close({ graceful: true });
      return;
    }
    for (const body of bodies) this.onFrame(body);
  }

  private onFrame(body: Buffer): void {
    let raw: unknown;
    let frame: ClientFrame;
    try {
      raw = decodeBody(body);
      frame = parse(ClientFrame, raw);
      this.ctx.metrics.frameIn(frame.t);
    } catch (error) {
      this.ctx.metrics.frameIn("invalid");
      this.replyError(requestIdOf(raw), error);
      if (++this.badFrames >= MAX_BAD_FRAMES) this.close();
      return;
    }
    // Refused like a handler's failure, a turn later, so replies keep their order.
    const handled = frame.t === "hello" || this.greeted
      ? this.dispatch(frame)
      : Promise.reject(new NatterError("BAD_FRAME", "say hello first"));
    handled.catch((error: unknown) => this.replyError("id" in frame ? frame.id : undefined, error));
  }
}

function requestIdOf(raw: unknown): number | undefined {
  if (typeof raw === "object" && raw !== null && "id" in raw && typeof raw.id === "number" && Number.isInteger(raw.id) && raw.id >= 0) {
    return raw.id;
  }
  return undefined;
}
