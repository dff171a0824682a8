/**
 * A simulated device: one TCP connection speaking natter's frames, nothing more. Lean on
 * purpose (no schema parsing of what the edge sends, no crypto: bodies are pre-made
 * random bytes), so one load-generator process can drive thousands of them.
 */
import { connect, type Socket } from "node:net";
import { decodeBody, FrameReader, PROTOCOL_VERSION, writeFrame } from "@natter/protocol";

/** A frame from the edge, read without a schema: the load generator trusts its own edge. */
export type Incoming = { t: string; id?: number; [key: string]: unknown };
export interface Delivered { id: string; body: Uint8Array; group?: unknown; event?: unknown }

export interface Endpoint { host: string; port: number }

export class FrameError extends Error {
  constructor(readonly code: string, message: string) {
    super(`${code}: ${message}`);
  }
}

const REQUEST_TIMEOUT_MS = 30_000;

/** Source addresses 127.0.0.2…: many of them let connections go past one address's ports. */
export function sourceAddress(i: number, count = 64): string {
  const n = 2 + (i % count);
  return `127.0.${Math.floor(n / 256)}.${n % 256}`;
}

export class Device {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (f: Incoming) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private readonly reader = new FrameReader(64 * 1024 * 1024);
  private waitingWelcome: ((f: Incoming) => void) | undefined;
  /** Runs for every `deliver`; the device acks after it returns unless `autoAck` is off. */
  onDeliver: ((msg: Delivered) => void) | undefined;
  /** Runs for every frame no request waits for (data frames of a download, events). */
  onPush: ((frame: Incoming) => void) | undefined;
  autoAck = true;
  closed = false;
  readonly done: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", () => undefined);
    this.done = new Promise((resolve) => socket.once("close", () => {
      this.closed = true;
      for (const call of this.pending.values()) {
        clearTimeout(call.timer);
        call.reject(new Error("connection closed"));
      }
      this.pending.clear();
      resolve();
    }));
  }

  /**
   * Connects from `localAddress` and says hello; resolves once welcomed. A pinned device
   * says it was already redirected, so the edge keeps it (the bench places devices on
   * purpose); an unpinned one follows a `redirect` as a real client does.
   */
  static async open(to: Endpoint, localAddress: string, options: { pinned?: boolean; back?: boolean; timeoutMs?: number } = {}): Promise<Device> {
    const pinned = options.pinned ?? true;
    const first = await Device.greet(to, localAddress, pinned, options.timeoutMs ?? 30_000, options.back ?? false);
    if (first instanceof Device) return first;
    const [host, port] = first.split(":");
    const moved = await Device.greet({ host: host!, port: Number(port) }, localAddress, true, options.timeoutMs ?? 30_000);
    if (!(moved instanceof Device)) throw new Error("redirected twice");
    moved.redirected = true;
    return moved;
  }

  /** Whether the first edge sent this device elsewhere. */
  redirected = false;

  /** The welcomed device, or the address a redirect named. */
  private static async greet(to: Endpoint, localAddress: string, redirected: boolean, timeoutMs: number, back = false): Promise<Device | string> {
    const socket = connect({ host: to.host, port: to.port, localAddress });
    const device = new Device(socket);
    const timer = setTimeout(() => socket.destroy(new Error("connect timed out")), timeoutMs);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("error", reject);
        socket.once("close", () => reject(new Error("closed while connecting")));
      });
      const welcome = new Promise<Incoming>((resolve) => (device.waitingWelcome = resolve));
      device.write({ t: "hello", v: PROTOCOL_VERSION, client: "natter-bench", ...(redirected ? { redirected: true } : {}), ...(back ? { back: true } : {}) });
      const answer = await Promise.race([welcome, device.done.then(() => { throw new Error("closed before welcome"); })]);
      if (answer.t === "redirect") {
        socket.destroy();
        return String(answer["to"]);
      }
      return device;
    } catch (error) {
      socket.destroy();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** A fresh request id, for requests answered by several frames (downloads). */
  allocateId(): number {
    return this.nextId++;
  }

  write(frame: object): void {
    if (!this.closed) writeFrame(this.socket, frame);
  }

  /** Sends a request with a fresh id; resolves with its reply, rejects on an error frame. */
  request(frame: Record<string, unknown>, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Incoming> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error("connection closed"));
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${String(frame["t"])} timed out`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.write({ ...frame, id });
    });
  }

  /** Authenticates with a session token. */
  async resume(token: string): Promise<void> {
    await this.request({ t: "resume", token });
  }

  /** Starts deliveries of the inbox. */
  async receive(): Promise<void> {
    await this.request({ t: "receive" });
  }

  ack(msgId: string): void {
    this.write({ t: "ack", msgId });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let bodies: Buffer[];
    try {
      bodies = this.reader.push(chunk);
    } catch {
      this.socket.destroy();
      return;
    }
    for (const body of bodies) this.onFrame(decodeBody(body) as Incoming);
  }

  private onFrame(frame: Incoming): void {
    if (frame.t === "deliver") {
      const msg = frame["msg"] as Delivered;
      this.onDeliver?.(msg);
      if (this.autoAck) this.ack(msg.id);
      return;
    }
    if ((frame.t === "welcome" || frame.t === "redirect") && this.waitingWelcome) {
      this.waitingWelcome(frame);
      this.waitingWelcome = undefined;
      return;
    }
    const call = frame.id === undefined ? undefined : this.pending.get(frame.id);
    // A download answers with many `data` frames under one id: they go to onPush.
    if (call && frame.t !== "data") {
      this.pending.delete(frame.id!);
      clearTimeout(call.timer);
      if (frame.t === "error") call.reject(new FrameError(String(frame["code"]), String(frame["message"])));
      else call.resolve(frame);
      return;
    }
    this.onPush?.(frame);
  }
}

/** Runs `fn` over `items` with at most `limit` at once. */
export async function withLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(lanes);
  return results;
}
