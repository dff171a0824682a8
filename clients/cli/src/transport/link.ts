import type { InboxMessage, ServerFrameOf } from "@natter/protocol";
import { backoffDelay } from "./backoff.ts";
import { connectAny, type Connection, type Dialer, type HandshakeOptions, type RequestBody, type ServerFrameType } from "./connection.ts";
import { CliError, EXIT, exitCodeFor, toCliError } from "../errors.ts";
import type { ServerAddress } from "./servers.ts";

export type LinkStatus = "reconnecting" | "online";

export interface LinkOptions extends HandshakeOptions {
  servers: readonly ServerAddress[];
  dial: Dialer;
  random(): number;
  /** Authenticates a fresh connection (resume, refresh when expired). */
  authenticate(connection: Connection): Promise<void>;
  /**
   * Whether this link takes deliveries: `required` fails with ALREADY_RECEIVING when another
   * connection of the account receives; `optional` then carries on without (the shell).
   */
  receive: "off" | "required" | "optional";
  /** Reconnect for as long as it takes (listen, shell) or give up after a few tries (one-shot commands). */
  persistent: boolean;
  onDeliver?(msg: InboxMessage, connection: Connection): void;
  onStatus?(status: LinkStatus): void;
  /** `optional` receiving found another receiver. */
  onReceiveRefused?(): void;
  /**
   * Ping the connection this often (default 30 s): a dead one is noticed, and the edge, which
   * closes a connection silent for twice its keepalive, knows this one is alive.
   */
  keepaliveMs?: number;
}

/** Reconnect attempts of a one-shot command after its connection drops. */
const ONE_SHOT_RECONNECTS = 5;

/**
 * An authenticated connection to some edge that outlives edges: when one goes away (drop,
 * drain, redirect) it reconnects with backoff across the other addresses, resumes the
 * session, takes deliveries again and retries the requests that were in flight. Retrying
 * is safe: a resent message keeps its id and the edge stores it once.
 */
export class Link {
  /** Settles when the link is closed (fulfilled) or fails for good (rejected). */
  readonly done: Promise<void>;
  private current: Connection | undefined;
  private waiters: Array<{ resolve(c: Connection): void; reject(e: Error): void }> = [];
  private failure: CliError | undefined;
  private stopped = false;
  private receiving: boolean;
  private readonly abort = new AbortController();
  private settleDone!: { resolve(): void; reject(e: Error): void };

  constructor(private readonly options: LinkOptions) {
    this.receiving = options.receive !== "off";
    this.done = new Promise<void>((resolve, reject) => (this.settleDone = { resolve, reject }));
    this.done.catch(() => undefined);
  }

  /** Makes the first connection; its failure (no service, auth, already receiving) is thrown as is. */
  async start(): Promise<void> {
    const connection = await this.establish(true);
    this.online(connection);
  }

  /** Whether deliveries come to this link. */
  get isReceiving(): boolean {
    return this.receiving;
  }

  /** Sends a request on the current connection, again on the next one if the connection drops first. */
  async call<T extends ServerFrameType>(body: RequestBody, expect: T): Promise<ServerFrameOf<T>> {
    for (;;) {
      const connection = await this.connection();
      try {
        return await connection.call(body, expect);
      } catch (err) {
        if (!(err instanceof CliError && err.code === "CONNECTION_LOST")) throw err;
      }
    }
  }

  /**
   * The connection in use now (waiting for one while reconnecting), for exchanges that
   * must stay on one connection — an upload's chunks, a download's data — and are
   * started over as a whole when it drops.
   */
  connectionNow(): Promise<Connection> {
    return this.connection();
  }

  /** Acks a delivery on the connection that brought it (a later connection redelivers it). */
  ack(msgId: string, connection: Connection): void {
    connection.send({ t: "ack", msgId });
  }

  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort();
    this.rejectWaiters(new CliError("CONNECTION_LOST"));
    await this.current?.end();
    this.settleDone.resolve();
  }

  private connection(): Promise<Connection> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.stopped) return Promise.reject(new CliError("CONNECTION_LOST"));
    if (this.current?.open) return Promise.resolve(this.current);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private async establish(first: boolean): Promise<Connection> {
    const { servers, dial, random } = this.options;
    // A connection lost and made again says it is coming back, so the edge keeps it where it
    // lands (see the edge's balancer); a process's first connection is balanced.
    const connection = await connectAny(servers, dial, random, first ? this.options : { ...this.options, back: true });
    try {
      connection.onPush = (frame) => {
        if (frame.t === "deliver") this.options.onDeliver?.(frame.msg, connection);
        else if (frame.t === "event" && frame.kind === "kicked") this.fail(new CliError("SESSION_ENDED", "this account was taken over by a login elsewhere: log in again"));
        else connection.end().catch(() => undefined); // draining or redirecting: go elsewhere
      };
      await this.options.authenticate(connection);
      if (this.receiving) {
        try {
          await connection.call({ t: "receive" }, "ok");
        } catch (err) {
          // On a reconnect the edge may not have noticed our old connection is gone: retry later.
          if (!(first && err instanceof CliError && err.code === "ALREADY_RECEIVING" && this.options.receive === "optional")) throw err;
          this.receiving = false;
          this.options.onReceiveRefused?.();
        }
      }
      return connection;
    } catch (err) {
      connection.destroy();
      throw err;
    }
  }

  private online(connection: Connection): void {
    this.current = connection;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.resolve(connection);
    const keepalive = this.keepalive(connection);
    connection.closed.then(() => {
      clearInterval(keepalive);
      if (this.current === connection) this.current = undefined;
      if (!this.stopped && !this.failure) void this.reconnect();
    });
  }

  private keepalive(connection: Connection): NodeJS.Timeout {
    const timer = setInterval(() => {
      connection.call({ t: "ping" }, "pong").catch(() => undefined);
    }, this.options.keepaliveMs ?? 30_000);
    timer.unref();
    return timer;
  }

  private async reconnect(): Promise<void> {
    this.options.onStatus?.("reconnecting");
    for (let attempt = 0; !this.stopped && !this.failure; attempt++) {
      if (!this.options.persistent && attempt >= ONE_SHOT_RECONNECTS) return this.fail(new CliError("NO_SERVICE"));
      const slept = await sleep(backoffDelay(attempt, this.options.random), this.abort.signal);
      if (!slept) return;
      try {
        const connection = await this.establish(false);
        if (this.stopped) {
          connection.destroy();
          return;
        }
        this.online(connection);
        this.options.onStatus?.("online");
        return;
      } catch (err) {
        const e = toCliError(err);
        if (!isTransient(e)) return this.fail(e);
      }
    }
  }

  private fail(err: CliError): void {
    if (this.failure || this.stopped) return;
    this.failure = err;
    this.rejectWaiters(err);
    this.current?.destroy();
    this.settleDone.reject(err);
  }

  private rejectWaiters(err: Error): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(err);
  }
}

/** Failures that another try (later, or on another edge) may not have. */
function isTransient(err: CliError): boolean {
  return exitCodeFor(err.code) === EXIT.NO_SERVICE || ["ALREADY_RECEIVING", "RATE_LIMITED", "INTERNAL"].includes(err.code);
}

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
