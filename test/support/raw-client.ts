/**
 * A bare protocol client for tests: frames in and out, nothing else. Lets tests speak
 * to an edge exactly as a (possibly hostile) client would.
 */
import { connect, type Socket } from "node:net";
import { decodeBody, encodeFrame, FrameReader, PROTOCOL_VERSION, type ServerFrame } from "@natter/protocol";

type Frame = Record<string, unknown>;

export class RawClient {
  readonly frames: ServerFrame[] = [];
  private readonly waiters: Array<{ match: (f: ServerFrame) => boolean; resolve: (f: ServerFrame) => void }> = [];
  private nextId = 1;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    const reader = new FrameReader(64 * 1024 * 1024);
    socket.on("data", (chunk: Buffer) => {
      for (const body of reader.push(chunk)) this.onFrame(decodeBody(body) as ServerFrame);
    });
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.on("error", () => undefined);
  }

  /** Connects and says hello (following one redirect, as the CLI does) unless `hello` is false. */
  static async connect(address: string, hello = true, redirected = false): Promise<RawClient> {
    const [host, port] = address.split(":");
    const socket = connect({ host: host!, port: Number(port) });
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    const client = new RawClient(socket);
    if (hello) {
      client.send({ t: "hello", v: PROTOCOL_VERSION, redirected });
      const answer = await client.next((f) => f.t === "welcome" || f.t === "redirect");
      if (answer.t === "redirect") {
        client.close();
        return RawClient.connect(answer.to, true, true);
      }
    }
    return client;
  }

  send(frame: Frame): void {
    this.socket.write(encodeFrame(frame));
  }

  /** Sends a request with a fresh id and waits for its one reply. */
  async request(frame: Frame): Promise<ServerFrame> {
    const id = this.nextId++;
    this.send({ ...frame, id });
    return this.next((f) => "id" in f && f.id === id);
  }

  /** Like request, but throws on an error reply. */
  async ok<T extends ServerFrame["t"]>(frame: Frame): Promise<Extract<ServerFrame, { t: T }>> {
    const reply = await this.request(frame);
    if (reply.t === "error") throw new Error(`${reply.code}: ${reply.message}`);
    return reply as Extract<ServerFrame, { t: T }>;
  }

  /** The first frame (already received or still to come) that matches. */
  next(match: (f: ServerFrame) => boolean, timeoutMs = 10_000): Promise<ServerFrame> {
    const index = this.frames.findIndex(match);
    if (index >= 0) return Promise.resolve(this.frames.splice(index, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("timed out waiting for a frame")), timeoutMs);
      this.waiters.push({ match, resolve: (f) => { clearTimeout(timer); resolve(f); } });
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onFrame(frame: ServerFrame): void {
    const index = this.waiters.findIndex((w) => w.match(frame));
    if (index >= 0) this.waiters.splice(index, 1)[0]!.resolve(frame);
    else this.frames.push(frame);
  }
}
