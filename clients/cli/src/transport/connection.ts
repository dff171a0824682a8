// One connection to an edge in one file: the handshake, the redirect, request ids and
// their replies, keepalive and close share the same state and are read together.
import type { Duplex } from "node:stream";
import {
  FrameReader, NatterError, PROTOCOL_VERSION, ServerFrame, decodeBody, encodeFrame, parse, writeFrame,
  type ClientFrame, type ServerFrameOf,
} from "@natter/protocol";
import { CliError, EXIT, exitCodeFor } from "../errors.ts";
import { formatServer, parseServer, rotation, type ServerAddress } from "./servers.ts";

/** How to check a TLS edge: `ca` (PEM) replaces the system's CAs. */
export interface DialOptions {
  ca?: Uint8Array;
}

/** Opens a byte stream to an edge (TCP or TLS in the real client, an in-memory pipe in tests). */
export type Dialer = (address: ServerAddress, options?: DialOptions) => Promise<Duplex>;

type RequestFrame = Extract<ClientFrame, { id: number }>;
/** A request as the caller writes it; the connection numbers it. */
export type RequestBody = RequestFrame extends infer F ? (F extends RequestFrame ? Omit<F, "id"> : never) : never;
export type ServerFrameType = ServerFrame["t"];
export type PushFrame = ServerFrameOf<"deliver"> | ServerFrameOf<"event"> | ServerFrameOf<"redirect">;

export interface ConnectionOptions {
  /** A request not answered within this many ms means the connection is dead (default 30 s). */
  requestTimeoutMs?: number;
}

interface Pending {
  expect: ServerFrameType;
  resolve(frame: ServerFrame): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
  /** A request answered by several `data` frames (download): each goes here, the `last` one ends it. */
  data?(frame: ServerFrameOf<"data">): void;
}

/** What the edge said about itself in `welcome`. */
export interface EdgeLimits {
  maxFrame: number;
  /** Largest file it stores, bytes of ciphertext. */
  maxFile: number;
  /** The chunk size uploads should use. */
  chunkSize: number;
}

/** A download pauses the socket while this much waits unread, and resumes below half of it. */
const DOWNLOAD_HIGH_WATER = 4 * 1024 * 1024;

/**
 * One connection to an edge after `hello`: numbered requests, each settled by exactly one
 * reply (its result, or an error frame as a CliError), and server pushes handed to `onPush`.
 * When the stream ends every pending request fails with CONNECTION_LOST.
 */
export class Connection {
  onPush: (frame: PushFrame) => void = () => undefined;
  readonly closed: Promise<void>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private isClosed = false;
  private readonly requestTimeoutMs: number;

  constructor(
    private readonly stream: Duplex,
    readonly edge: string,
    readonly address: string,
    options: ConnectionOptions = {},
    readonly limits: EdgeLimits = { maxFrame: 1024 * 1024, maxFile: 100 * 1024 * 1024, chunkSize: 256 * 1024 },
  ) {
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.closed = new Promise((resolve) => {
      stream.once("close", () => {
        this.isClosed = true;
        for (const p of this.pending.values()) {
          clearTimeout(p.timer);
          p.reject(new CliError("CONNECTION_LOST"));
        }
        this.pending.clear();
        resolve();
      });
    });
  }

  get open(): boolean {
    return !this.isClosed && !this.stream.destroyed;
  }

  /** Sends a request and waits for its reply of type `expect`. */
  call<T extends ServerFrameType>(body: RequestBody, expect: T): Promise<ServerFrameOf<T>> {
    if (!this.open) return Promise.reject(new CliError("CONNECTION_LOST"));
    const id = this.nextId++;
    return new Promise<ServerFrameOf<T>>((resolve, reject) => {
      const timer = setTimeout(() => this.destroy(), this.requestTimeoutMs);
      timer.unref();
      this.pending.set(id, { expect, resolve: resolve as (f: ServerFrame) => void, reject, timer });
      this.write({ ...body, id } as ClientFrame);
    });
  }

  /**
   * Downloads a stored file: its ciphertext as it comes in `data` frames. The socket is
   * paused while more than a few MiB wait unread, so memory stays bounded however big the
   * file; NO_SUCH_FILE and a lost connection are thrown from the iteration.
   */
  download(file: string): AsyncIterable<Uint8Array> {
    const queue: Uint8Array[] = [];
    let queued = 0;
    let ended = false;
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    let paused = false;
    const notify = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const id = this.nextId++;
    const pending: Pending = {
      expect: "data",
      timer: undefined,
      resolve: () => undefined,
      reject: (err) => {
        failure = err;
        notify();
      },
      data: (frame) => {
        if (frame.data.byteLength > 0) {
          queue.push(frame.data);
          queued += frame.data.byteLength;
        }
        if (frame.last) {
          ended = true;
          this.settle(id);
        } else if (queued > DOWNLOAD_HIGH_WATER && !paused) {
          paused = true;
          clearTimeout(pending.timer);
          pending.timer = undefined;
          this.stream.pause();
        } else {
          this.arm(id, pending);
        }
        notify();
      },
    };
    const start = (): void => {
      if (!this.open) {
        failure = new CliError("CONNECTION_LOST");
        return;
      }
      this.pending.set(id, pending);
      this.arm(id, pending);
      this.write({ t: "download", id, file } as ClientFrame);
    };
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        start();
        try {
          for (;;) {
            if (queue.length > 0) {
              const next = queue.shift()!;
              queued -= next.byteLength;
              if (paused && queued < DOWNLOAD_HIGH_WATER / 2) {
                paused = false;
                self.arm(id, pending);
                self.stream.resume();
              }
              yield next;
              continue;
            }
            if (failure) throw failure;
            if (ended) return;
            await new Promise<void>((resolve) => (wake = resolve));
          }
        } finally {
          // Stopped early (a decryption failure): the rest of the frames are dropped as they come.
          if (!ended && !failure && self.pending.has(id)) pending.data = (f) => { if (f.last) self.settle(id); };
          if (paused) self.stream.resume();
        }
      },
    };
  }

  /** Sends a frame that has no reply (`ack`). */
  send(frame: Extract<ClientFrame, { t: "ack" }>): void {
    if (this.open) this.write(frame);
  }

  /** Closes gracefully after what was written is flushed. */
  async end(): Promise<void> {
    if (this.open) this.stream.end();
    const timer = setTimeout(() => this.destroy(), 2_000);
    timer.unref();
    await this.closed;
    clearTimeout(timer);
  }

  destroy(): void {
    this.stream.destroy();
  }

  /** Handles one frame from the server (after the handshake). */
  receive(frame: ServerFrame): void {
    switch (frame.t) {
      case "deliver":
      case "event":
      case "redirect":
        this.onPush(frame);
        return;
      case "welcome":
        return this.destroy(); // a second welcome: the server is confused
      default: {
        if (frame.id === undefined) {
          // An error with no request (e.g. FRAME_TOO_LARGE): the server closes next.
          return this.destroy();
        }
        const p = this.pending.get(frame.id);
        if (!p) return this.destroy();
        if (p.data && frame.t === "data") return p.data(frame);
        this.pending.delete(frame.id);
        clearTimeout(p.timer);
        if (frame.t === "error") p.reject(new CliError(frame.code));
        else if (frame.t === p.expect) p.resolve(frame);
        else p.reject(new CliError("BAD_FRAME", `the server answered ${frame.t} to a request for ${p.expect}`));
      }
    }
  }

  /** (Re)starts a request's timeout: no frame within it means the connection is dead. */
  private arm(id: number, p: Pending): void {
    clearTimeout(p.timer);
    p.timer = setTimeout(() => this.destroy(), this.requestTimeoutMs);
    p.timer.unref();
    if (!this.pending.has(id)) clearTimeout(p.timer);
  }

  private settle(id: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(id);
  }

  private write(frame: ClientFrame): void {
    writeFrame(this.stream, frame);
  }
}

export interface HandshakeOptions extends ConnectionOptions {
  /** How long an edge may take to accept the connection and answer hello (default 5 s). */
  handshakeTimeoutMs?: number;
  /** The client is coming back after losing its connection: the edge keeps it rather than balance it elsewhere. */
  back?: boolean;
}

type Handshake = { kind: "welcome"; connection: Connection } | { kind: "redirect"; to: string };

/** Says hello on a fresh stream and waits for `welcome` or `redirect`. */
export function handshake(stream: Duplex, address: string, options: HandshakeOptions = {}, redirected = false): Promise<Handshake> {
  return new Promise<Handshake>((resolve, reject) => {
    const reader = new FrameReader();
    let connection: Connection | undefined;
    let settled = false;
    const settle = (f: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      f();
    };
    const timer = setTimeout(() => {
      stream.destroy();
      settle(() => reject(new CliError("CONNECTION_LOST")));
    }, options.handshakeTimeoutMs ?? 5_000);
    timer.unref();

    stream.on("error", () => undefined); // "close" follows and says everything needed
    stream.once("close", () => settle(() => reject(new CliError("CONNECTION_LOST"))));
    stream.on("data", (chunk: Buffer) => {
      let frames: ServerFrame[];
      try {
        frames = reader.push(chunk).map((body) => parse(ServerFrame, decodeBody(body)));
      } catch {
        stream.destroy();
        return;
      }
      for (const frame of frames) {
        if (connection) {
          connection.receive(frame);
        } else if (frame.t === "welcome") {
          connection = new Connection(stream, frame.edge, address, options, { maxFrame: frame.maxFrame, maxFile: frame.maxFile, chunkSize: frame.chunkSize });
          const c = connection;
          settle(() => resolve({ kind: "welcome", connection: c }));
        } else if (frame.t === "redirect") {
          stream.destroy();
          settle(() => resolve({ kind: "redirect", to: frame.to }));
        } else if (frame.t === "error") {
          stream.destroy();
          settle(() => reject(new CliError(frame.code)));
        } else {
          stream.destroy();
        }
      }
    });
    const hello: ClientFrame = { t: "hello", v: PROTOCOL_VERSION, client: "natter-cli", ...(redirected ? { redirected } : {}), ...(options.back ? { back: true } : {}) };
    stream.write(encodeFrame(hello));
  });
}

/**
 * Connects to the first edge of `servers` that answers, trying each in turn from a
 * random start and following one redirect. Fails with NO_SERVICE when none answers
 * (or with the protocol error an edge gave, e.g. VERSION_MISMATCH).
 */
export async function connectAny(
  servers: readonly ServerAddress[],
  dial: Dialer,
  random: () => number,
  options: HandshakeOptions = {},
): Promise<Connection> {
  let refusal: CliError | undefined;
  const attempt = async (address: ServerAddress, redirected = false): Promise<Handshake> => {
    const stream = await dial(address);
    return handshake(stream, formatServer(address), options, redirected);
  };
  for (const address of rotation(servers, random)) {
    try {
      let result = await attempt(address);
      if (result.kind === "redirect") {
        // An edge names its peers host:port; a client that came in over TLS stays on TLS.
        const parsed = parseServer(result.to);
        const to: ServerAddress = address.tls ? { ...parsed, tls: true as const } : parsed;
        // The edge may still count a peer that has just died: if it does not answer, go
        // back to the edge that sent us, saying we were redirected, so it keeps us.
        result = await attempt(to, true).catch(() => attempt(address, true));
        if (result.kind === "redirect") continue;
      }
      return result.connection;
    } catch (err) {
      // An edge that refuses us for a reason of ours (VERSION_MISMATCH) speaks for all of them;
      // one that is down, busy or draining is just not answering.
      const refused = err instanceof CliError ? err : err instanceof NatterError ? new CliError(err.code) : undefined;
      if (refused && exitCodeFor(refused.code) !== EXIT.NO_SERVICE && refused.code !== "USAGE") refusal = refused;
    }
  }
  throw refusal ?? new CliError("NO_SERVICE");
}
