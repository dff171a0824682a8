import { NatterError, type ClientFrame } from "@natter/protocol";
import { FrameConnection, type FrameSocket, type TransportContext } from "./frame-connection.ts";
import type { Delivery, DeviceFeed, Identity, SessionMembership } from "./domain/ports.ts";
import type { MessagingClient, MessagingHandlers } from "./handlers/messaging.ts";
import { passThrough, type Services } from "./handlers/pass-through.ts";
import type { SessionClient, SessionHandlers } from "./handlers/session.ts";
import type { TransferClient, TransferHandlers } from "./handlers/transfers.ts";
import type { Upload } from "./handlers/upload.ts";

/** Everything the connections of one edge share. */
export interface EdgeContext extends TransportContext {
  readonly session: SessionHandlers;
  readonly messaging: MessagingHandlers;
  readonly transfers: TransferHandlers;
  /** Where the frames the edge only forwards go. */
  readonly services: Services;
}

/**
 * One client connection of an edge: its transport, what the handlers keep for it, and
 * which handler takes each frame. The sender of anything forwarded is the authenticated
 * user, never a field of the frame.
 */
export class ClientConnection extends FrameConnection<EdgeContext> implements SessionClient, MessagingClient, TransferClient {
  identity: Identity | undefined;
  membership: SessionMembership | undefined;
  feed: DeviceFeed | undefined;
  // Made when first needed, like the login timer dropped once it is done: an idle
  // connection should cost little more than its socket.
  unacked: Map<string, Delivery> | undefined;
  uploads: Map<string, Upload> | undefined;

  constructor(socket: FrameSocket, ctx: EdgeContext, private readonly onClose: (connection: ClientConnection) => void) {
    super(socket, ctx);
  }

  get userId(): string | undefined {
    return this.identity?.userId;
  }

  /**
   * The edge is going away: stop deliveries and say so. The client finishes what it has
   * in flight and moves to another edge; the listener closes whatever is left later.
   */
  shutdown(): void {
    this.ctx.messaging.stop(this);
    this.push({ t: "event", kind: "shutdown", message: "this server is shutting down" });
  }

  protected override async dispatch(frame: ClientFrame): Promise<void> {
    const { session, messaging, transfers } = this.ctx;
    switch (frame.t) {
      case "hello": return session.hello(this, frame);
      case "salt": return session.salt(this, frame);
      case "register": return session.register(this, frame);
      case "login": return session.login(this, frame);
      case "resume": return session.resume(this, frame);
      case "refresh": return session.refresh(this, frame);
      case "ping": return this.push({ t: "pong", id: frame.id });
      case "ack": return messaging.ack(this, frame);
    }
    const me = this.identity;
    if (!me) throw new NatterError("NOT_AUTHENTICATED");
    switch (frame.t) {
      case "logout": return session.logout(this, frame, me);
      case "passwd": return session.passwd(this, frame, me);
      case "receive": return messaging.receive(this, frame, me);
      case "send": return messaging.send(this, frame, me);
      case "gsend": return messaging.gsend(this, frame, me);
      case "upload": return transfers.upload(this, frame);
      case "chunk": return transfers.chunk(this, frame);
      case "download": return transfers.download(this, frame);
      default: return this.push(await passThrough(this.ctx.services, frame, me));
    }
  }

  protected override release(): void {
    this.ctx.messaging.closed(this);
    this.ctx.session.closed(this);
    this.ctx.transfers.closed(this);
    this.onClose(this);
  }
}
