/**
 * A TCP proxy between clients and a real edge that reads the frames going each way:
 * tests look at what a client sent, and can make the network lose a reply.
 */
import { createServer, connect, type Server, type Socket } from "node:net";
import { once } from "node:events";
import { ClientFrame, FrameReader, ServerFrame, decodeBody, encodeFrame, parse } from "@natter/protocol";

/** A frame body back on the wire: its 4-byte big-endian length, then the body. */
function framed(body: Buffer): Buffer {
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(body.byteLength, 0);
  return Buffer.concat([head, body]);
}

/** Relays whole frames between clients and one edge, keeping a copy of each. */
export class RecordingProxy {
  /** Every frame clients sent through the proxy, in order. */
  readonly sent: ClientFrame[] = [];
  /** Every frame the edge answered with, in order (including any the proxy did not pass on). */
  readonly received: ServerFrame[] = [];
  private hangUp: ((frame: ClientFrame) => boolean) | undefined;
  private rewrite: ((frame: ServerFrame) => ServerFrame) | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server) {}

  /** Listens on a free local port, passing every connection on to the edge at `edge` (host:port). */
  static async start(edge: string): Promise<RecordingProxy> {
    const colon = edge.lastIndexOf(":");
    const to = { host: edge.slice(0, colon), port: Number(edge.slice(colon + 1)) };
    const server = createServer();
    const proxy = new RecordingProxy(server);
    server.on("connection", (client) => proxy.relay(client, connect(to)));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    return proxy;
  }

  /** Where clients connect: host:port. */
  get address(): string {
    const at = this.server.address();
    if (typeof at !== "object" || at === null) throw new Error("the proxy is not listening");
    return `127.0.0.1:${at.port}`;
  }

  /**
   * For the next request that `match`es: pass it on to the edge, and when the edge replies,
   * drop the reply and hang up both sides — the request was done, the client never hears so.
   */
  hangUpAfter(match: (frame: ClientFrame) => boolean): void {
    this.hangUp = match;
  }

  /** From now on, every frame the edge answers with reaches clients as `change` makes it (a lying server). */
  rewriteReplies(change: ((frame: ServerFrame) => ServerFrame) | undefined): void {
    this.rewrite = change;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.server.close();
    await once(this.server, "close");
  }

  private relay(client: Socket, edge: Socket): void {
    for (const [s, other] of [[client, edge], [edge, client]] as const) {
      this.sockets.add(s);
      s.on("error", () => undefined);
      // Ended, not destroyed: what one side wrote last (a client's final acks) still arrives.
      s.on("close", () => {
        this.sockets.delete(s);
        other.end();
      });
    }
    // The request whose reply is to be lost on this connection.
    let doomed: number | undefined;
    const fromClient = new FrameReader(Infinity);
    client.on("data", (chunk: Buffer) => {
      for (const body of fromClient.push(chunk)) {
        const frame = parse(ClientFrame, decodeBody(body));
        this.sent.push(frame);
        if (this.hangUp?.(frame) && "id" in frame) {
          this.hangUp = undefined;
          doomed = frame.id;
        }
        edge.write(framed(body));
      }
    });
    const fromEdge = new FrameReader(Infinity);
    edge.on("data", (chunk: Buffer) => {
      for (const body of fromEdge.push(chunk)) {
        const frame = parse(ServerFrame, decodeBody(body));
        this.received.push(frame);
        if (doomed !== undefined && "id" in frame && frame.id === doomed) {
          client.destroy();
          edge.destroy();
          return;
        }
        client.write(this.rewrite ? encodeFrame(this.rewrite(frame)) : framed(body));
      }
    });
  }
}
