import { randomUUID } from "node:crypto";
import type { Duplex } from "node:stream";
import { ClientFrame, decodeBody, encodeFrame, FrameReader, NatterError, parse, writeEncoded, type ServerFrame } from "@natter/protocol";
import type { Logger } from "@natter/kit";
import type { Admission } from "./domain/admission.ts";
import type { PartialFrameBudget } from "./domain/partial-frame-budget.ts";
import type { EdgeMetrics } from "./domain/ports.ts";

/** After this many frames that could not be understood, the connection is closed. */
const MAX_BAD_FRAMES = 10;
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
  /** A connection that has not logged in after this long is closed. */
  readonly loginTimeoutMs: number;
  /** How often clients ping; a logged-in connection silent for twice this is closed (by its listener). */
  readonly keepaliveMs: number;
  /** Counts connections not yet logged in, and their frames. */
  readonly admission: Admission;
  /** Bounds the bytes of unfinished frames over all connections. */
  readonly partialFrames: PartialFrameBudget;
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
  /** Sends a frame of type `t` already encoded (see `encodeDeliverFrame`). */
  pushEncoded(t: ServerFrame["t"], frame: Uint8Array): void;
  /** Answers request `id` (or no request) with the error: a NatterError as it is, anything else as INTERNAL. */
  replyError(id: number | undefined, error: unknown): void;
  /** Ends the connection; a graceful close lets what was written reach the client first. */
  close(options?: { graceful?: boolean }): void;
}

/**
 * The transport of one client connection: splits the byte stream into frames, checks
 * each against the protocol, refuses all but `hello` until the client has said it, and
 * hands the rest to `dispatch`. Every request is answered exactly once, by its handler or
 * here with `{t:"error", id, code, message}`. Guards the frame size, the bytes of
 * unfinished frames (against the edge's budget), the rate of frames before login and the
 * time allowed to log in, and closes after too many frames it could not understand.
 * What the handlers keep per connection lives on the subclass, so that an idle
 * connection is one object.
 */
export abstract class FrameConnection<C extends TransportContext = TransportContext> implements Client {
  readonly id = randomUUID();
  private readonly reader: FrameReader;
  private logger: Logger | undefined;
  private loginTimer: NodeJS.Timeout | undefined;
  private greeted = false;
  private authenticated = false;
  private open = true;
  private badFrames = 0;
  /** Bytes of an unfinished frame held in the reader, counted in the edge's budget. */
  private partial = 0;
  /** When the client last sent anything (ms since the epoch). */
  lastHeard = Date.now();
  /** Read once: a closed socket no longer knows its peer, and admission must release what it counted. */
  private readonly peer: string;

  /** The listener has counted this connection in `ctx.admission` already. */
  constructor(private readonly socket: FrameSocket, protected readonly ctx: C) {
    this.reader = new FrameReader(ctx.maxFrame);
    this.peer = socket.remoteAddress ?? "unknown";
    this.loginTimer = setTimeout(() => this.loginTimedOut(), ctx.loginTimeoutMs);
    socket.setNoDelay?.(true);
    socket.setKeepAlive?.(true, ctx.keepaliveMs);
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
    return this.peer;
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

  /**
   * The client logged in: the login timer is done (and dropped: idle connections should
   * cost little), and it no longer counts among the connections waiting to log in.
   */
  loggedIn(): void {
    clearTimeout(this.loginTimer);
    this.loginTimer = undefined;
    if (this.authenticated) return;
    this.authenticated = true;
    this.ctx.admission.release(this.address);
  }

  /** True once the client has logged in on this connection. */
  get isLoggedIn(): boolean {
    return this.authenticated;
  }

  close(options: { graceful?: boolean } = {}): void {
    if (!this.open) return;
    this.open = false;
    clearTimeout(this.loginTimer);
    if (!this.authenticated) this.ctx.admission.release(this.address);
    this.ctx.partialFrames.free(this.partial);
    this.partial = 0;
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
    this.pushEncoded(frame.t, encodeFrame(frame));
  }

  pushEncoded(t: ServerFrame["t"], frame: Uint8Array): void {
    if (!this.open || !this.socket.writable) return;
    this.ctx.metrics.frameOut(t);
    writeEncoded(this.socket, frame);
  }

  private onData(chunk: Buffer): void {
    if (!this.open) return;
    this.lastHeard = Date.now();
    let bodies: Buffer[];
    try {
      bodies = this.reader.push(chunk);
    } catch (error) {
      this.replyError(undefined, error);
      this.close({ graceful: true });
      return;
    }
    const consumed = bodies.reduce((sum, body) => sum + FRAME_HEADER + body.byteLength, 0);
    const partial = this.partial + chunk.byteLength - consumed;
    if (partial > this.partial && !this.ctx.partialFrames.hold(partial - this.partial, this.authenticated)) {
      this.replyError(undefined, new NatterError("RATE_LIMITED", "the server holds too many unfinished frames: try again shortly"));
      this.close({ graceful: true });
      return;
    }
    if (partial < this.partial) this.ctx.partialFrames.free(this.partial - partial);
    this.partial = partial;
    for (const body of bodies) this.onFrame(body);
  }

  /** Why a frame is not handed to the handlers, if it is not. */
  private refusal(frame: ClientFrame): NatterError | undefined {
    if (frame.t !== "hello" && !this.greeted) return new NatterError("BAD_FRAME", "say hello first");
    if (!this.authenticated && !this.ctx.admission.preLoginFrame(this.address)) return new NatterError("RATE_LIMITED");
    return undefined;
  }

  private loginTimedOut(): void {
    this.replyError(undefined, new NatterError("LOGIN_TIMEOUT"));
    this.close({ graceful: true });
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
    const refusal = this.refusal(frame);
    if (refusal?.code === "RATE_LIMITED" && ++this.badFrames >= MAX_BAD_FRAMES) this.close();
    const handled = refusal ? Promise.reject(refusal) : this.dispatch(frame);
    handled.catch((error: unknown) => this.replyError("id" in frame ? frame.id : undefined, error));
  }
}

/** The length header before every frame body. */
const FRAME_HEADER = 4;

function requestIdOf(raw: unknown): number | undefined {
  if (typeof raw === "object" && raw !== null && "id" in raw && typeof raw.id === "number" && Number.isInteger(raw.id) && raw.id >= 0) {
    return raw.id;
  }
  return undefined;
}
