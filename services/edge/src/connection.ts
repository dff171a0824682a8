import { randomUUID } from "node:crypto";
import type { Socket } from "node:net";
import type { z } from "zod";
import {
  AuthApi, ClientFrame, type GroupApi, type PresenceApi, decodeBody, FrameReader, MAX_MESSAGE_BODY, NatterError, parse, PROTOCOL_VERSION, writeFrame,
  type ClientFrameOf, type ServerFrame,
} from "@natter/protocol";
import type { Logger } from "@natter/kit";
import type {
  BlockList, Delivery, DeviceFeed, EdgeMetrics, FileStore, Identity, Inbox, PresenceReport, SessionBus, SessionCheck, SessionMembership, TokenVerifier,
} from "./domain/ports.ts";
import { TokenBucket } from "./domain/token-bucket.ts";
import { Upload } from "./upload.ts";

type Auth = typeof AuthApi;
/** Calls a verb of the auth service; throws NatterError. */
export type AuthCall = <K extends keyof Auth>(verb: K, req: z.input<Auth[K]["req"]>) => Promise<z.output<Auth[K]["res"]>>;
/** Calls a verb of the presence service; throws NatterError. */
export type PresenceCall = <K extends keyof PresenceApi>(verb: K, req: z.input<PresenceApi[K]["req"]>) => Promise<z.output<PresenceApi[K]["res"]>>;
/** Calls a verb of the group service; throws NatterError. */
export type GroupCall = <K extends keyof GroupApi>(verb: K, req: z.input<GroupApi[K]["req"]>) => Promise<z.output<GroupApi[K]["res"]>>;

export interface EdgeContext {
  readonly edgeName: string;
  readonly maxFrame: number;
  readonly sendRate: number;
  readonly loginTimeoutMs: number;
  /** Largest file accepted (ciphertext bytes), and the chunk size clients are told to use. */
  readonly maxFile: number;
  readonly chunkSize: number;
  readonly logger: Logger;
  readonly auth: AuthCall;
  readonly group: GroupCall;
  readonly presenceCall: PresenceCall;
  readonly presence: PresenceReport;
  readonly blocks: BlockList;
  readonly metrics: EdgeMetrics;
  /** Where to send a client that says hello now, if elsewhere (a less loaded or not draining edge). */
  readonly redirect: () => string | undefined;
  readonly inbox: Inbox;
  readonly bus: SessionBus;
  readonly tokens: TokenVerifier;
  readonly sessions: SessionCheck;
  readonly files: FileStore;
}

/** After this many frames that could not be understood, the connection is closed. */
const MAX_BAD_FRAMES = 10;
/** Uploads one connection may have under way at once. */
const MAX_UPLOADS = 4;
/** Stop writing a download while this much waits in the socket's buffer. */
const WRITE_HIGH_WATER = 1024 * 1024;

/**
 * One client connection: reads frames, checks each against the protocol, answers every
 * request exactly once, and pushes the user's inbox while the client receives. The
 * sender of anything forwarded is the authenticated user, never a field of the frame.
 */
export class ClientConnection {
  readonly id = randomUUID();
  private readonly reader: FrameReader;
  private logger: Logger | undefined;
  private readonly bucket: TokenBucket;
  private loginTimer: NodeJS.Timeout | undefined;
  private greeted = false;
  private closed = false;
  private badFrames = 0;
  private identity: Identity | undefined;
  private membership: SessionMembership | undefined;
  private feed: DeviceFeed | undefined;
  // Made when first needed, like the login timer dropped once it is done: an idle
  // connection should cost little more than its socket.
  private unacked: Map<string, Delivery> | undefined;
  private uploads: Map<string, Upload> | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly ctx: EdgeContext,
    private readonly onClose: (connection: ClientConnection) => void,
  ) {
    this.reader = new FrameReader(ctx.maxFrame);
    this.bucket = new TokenBucket(ctx.sendRate, ctx.sendRate * 2);
    this.loginTimer = setTimeout(() => { if (!this.identity) this.close(); }, ctx.loginTimeoutMs);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", () => this.close());
    socket.on("close", () => this.close());
  }

  /** Made when first needed: most connections never log, and idle ones should cost little. */
  private get log(): Logger {
    return (this.logger ??= this.ctx.logger.child({ conn: this.id }));
  }

  get userId(): string | undefined {
    return this.identity?.userId;
  }

  /**
   * The edge is going away: stop deliveries and say so. The client finishes what it has
   * in flight and moves to another edge; the listener closes whatever is left later.
   */
  shutdown(): void {
    void this.feed?.stop().catch(() => undefined);
    this.feed = undefined;
    this.push({ t: "event", kind: "shutdown", message: "this server is shutting down" });
  }

  /** Ends the connection; a graceful close lets what was written reach the client first. */
  close(options: { graceful?: boolean } = {}): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.loginTimer);
    void this.feed?.stop().catch(() => undefined);
    this.membership?.leave();
    if (this.identity) this.ctx.presence.disconnected(this.identity);
    this.unacked?.clear();
    for (const upload of this.uploads?.values() ?? []) upload.abort("the connection closed");
    if (options.graceful) {
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 2000).unref();
    } else {
      this.socket.destroy();
    }
    this.onClose(this);
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
    this.dispatch(frame).catch((error: unknown) => this.replyError("id" in frame ? frame.id : undefined, error));
  }

  private async dispatch(frame: ClientFrame): Promise<void> {
    if (frame.t !== "hello" && !this.greeted) throw new NatterError("BAD_FRAME", "say hello first");
    switch (frame.t) {
      case "hello": return this.hello(frame);
      case "register": return this.register(frame);
      case "login": return this.login(frame);
      case "resume": return this.resume(frame);
      case "refresh": return this.refresh(frame);
      case "ping": return this.push({ t: "pong", id: frame.id });
      case "ack": return this.ack(frame.msgId);
    }
    const me = this.requireIdentity();
    switch (frame.t) {
      case "logout": return this.logout(frame, me);
      case "receive": return this.receive(frame, me);
      case "send": return this.sendMessage(frame, me);
      case "user": {
        const user = await this.ctx.auth("user", { username: frame.user });
        return this.push({ t: "user", id: frame.id, ...user });
      }
      case "claim": {
        const keys = await this.ctx.auth("claim", { username: frame.user });
        return this.push({ t: "keys", id: frame.id, ...keys });
      }
      case "prekeys": {
        const { count } = await this.ctx.auth("prekeys", { userId: me.userId, add: frame.add, replace: frame.replace });
        return this.push({ t: "prekeys", id: frame.id, count });
      }
      case "backup": {
        const { backup } = await this.ctx.auth("backup", { userId: me.userId, put: frame.put });
        return this.push({ t: "backup", id: frame.id, backup });
      }
      case "group": return this.groupCommand(frame, me);
      case "groups": {
        const { groups } = await this.ctx.group("list", {});
        return this.push({ t: "groups", id: frame.id, groups });
      }
      case "gsend": return this.sendGroupMessage(frame, me);
      case "who": {
        const { users } = await this.ctx.presenceCall("who", { userId: me.userId, lastHour: frame.lastHour });
        return this.push({ t: "who", id: frame.id, users });
      }
      case "block":
      case "unblock":
        await this.ctx.auth(frame.t, { userId: me.userId, username: frame.user });
        return this.push({ t: "ok", id: frame.id });
      case "profile": {
        const { blob } = await this.ctx.auth("profile", { userId: me.userId, put: frame.put });
        return this.push({ t: "profile", id: frame.id, blob });
      }
      case "profileOf": {
        const profile = await this.ctx.auth("profileOf", { userId: me.userId, username: frame.user });
        return this.push({ t: "profileOf", id: frame.id, ...profile });
      }
      case "upload": return this.startUpload(frame);
      case "chunk": return this.takeChunk(frame);
      case "download": return this.download(frame);
    }
  }

  private async groupCommand(frame: ClientFrameOf<"group">, me: Identity): Promise<void> {
    const actor = { userId: me.userId, username: me.username, name: frame.name };
    const user = () => {
      if (!frame.user) throw new NatterError("BAD_FRAME", `group ${frame.op} needs a user`);
      return frame.user;
    };
    if (frame.op === "members") {
      const { group, members } = await this.ctx.group("members", actor);
      return this.push({ t: "members", id: frame.id, group, members });
    }
    const group = await (
      frame.op === "create" ? this.ctx.group("create", { ...actor, members: frame.members })
      : frame.op === "add" || frame.op === "remove" || frame.op === "admin" ? this.ctx.group(frame.op, { ...actor, user: user() })
      : this.ctx.group(frame.op, actor)
    );
    this.push({ t: "group", id: frame.id, group });
  }

  /** Membership is checked by the group service at fan-out: a non-member's message reaches nobody. */
  private async sendGroupMessage(frame: ClientFrameOf<"gsend">, me: Identity): Promise<void> {
    if (!this.bucket.take()) throw new NatterError("RATE_LIMITED");
    if (frame.msg.body.byteLength > MAX_MESSAGE_BODY) throw new NatterError("MESSAGE_TOO_LARGE");
    await this.stored(frame.id, frame.msg.id, () => this.ctx.inbox.publishGroup({
      v: 1, id: frame.msg.id, from: me.userId, fromName: me.username, groupId: frame.msg.group, body: frame.msg.body, sentAt: Date.now(),
    }));
  }

  /** Publishes to JetStream and answers `accepted` only once it is stored. */
  private async stored(requestId: number, msgId: string, publish: () => Promise<void>): Promise<void> {
    const started = performance.now();
    try {
      await publish();
    } catch (cause) {
      this.ctx.metrics.publishFailed();
      this.log.warn({ err: (cause as Error).message }, "publish failed");
      throw new NatterError("UNAVAILABLE", undefined, { cause });
    }
    this.ctx.metrics.accepted((performance.now() - started) / 1000);
    this.push({ t: "accepted", id: requestId, msgId });
  }

  private startUpload(frame: ClientFrameOf<"upload">): void {
    if (frame.size > this.ctx.maxFile) throw new NatterError("FILE_TOO_LARGE");
    const uploads = (this.uploads ??= new Map());
    if (uploads.size >= MAX_UPLOADS) throw new NatterError("RATE_LIMITED", "too many uploads at once");
    const file = randomUUID();
    const upload = new Upload(frame.size, (requestId) => this.push({ t: "ok", id: requestId }));
    uploads.set(file, upload);
    this.ctx.files.put(file, upload.stream).then(
      ({ size }) => {
        uploads.delete(file);
        if (upload.lastRequestId !== undefined) this.push({ t: "stored", id: upload.lastRequestId, file, size });
      },
      (error: unknown) => {
        uploads.delete(file);
        if (!this.closed) this.log.warn({ err: (error as Error).message }, "upload failed");
        for (const id of upload.unanswered()) this.replyError(id, new NatterError("UNAVAILABLE"));
      },
    );
    this.push({ t: "upload", id: frame.id, file });
  }

  private takeChunk(frame: ClientFrameOf<"chunk">): void {
    const upload = this.uploads?.get(frame.upload);
    if (!upload) throw new NatterError("BAD_FRAME", "no such upload under way");
    try {
      upload.offer(frame.id, frame.data, frame.last);
    } catch (error) {
      this.uploads?.delete(frame.upload);
      upload.abort("refused chunk");
      throw error;
    }
  }

  private async download(frame: ClientFrameOf<"download">): Promise<void> {
    const file = await this.ctx.files.get(frame.file);
    if (!file) throw new NatterError("NO_SUCH_FILE");
    for await (const data of file.data) {
      if (this.closed) return;
      this.push({ t: "data", id: frame.id, data, last: false });
      if (this.socket.writableLength > WRITE_HIGH_WATER) await new Promise((drained) => this.socket.once("drain", drained));
    }
    this.push({ t: "data", id: frame.id, data: new Uint8Array(0), last: true });
  }

  private hello(frame: ClientFrameOf<"hello">): void {
    if (frame.v !== PROTOCOL_VERSION) throw new NatterError("VERSION_MISMATCH");
    const elsewhere = frame.redirected ? undefined : this.ctx.redirect();
    if (elsewhere) {
      this.push({ t: "redirect", to: elsewhere });
      this.close({ graceful: true });
      return;
    }
    this.greeted = true;
    this.push({
      t: "welcome", v: PROTOCOL_VERSION, edge: this.ctx.edgeName, maxFrame: this.ctx.maxFrame,
      maxFile: this.ctx.maxFile, chunkSize: this.ctx.chunkSize,
    });
  }

  private async register(frame: ClientFrameOf<"register">): Promise<void> {
    this.requireAnonymous();
    const grant = await this.ctx.auth("register", {
      username: frame.username, password: frame.password, bundle: frame.bundle, backup: frame.backup, addr: this.address(),
    });
    this.authenticate(grant);
    this.push({ t: "session", id: frame.id, ...publicGrant(grant) });
  }

  private async login(frame: ClientFrameOf<"login">): Promise<void> {
    this.requireAnonymous();
    const grant = await this.ctx.auth("login", { username: frame.username, password: frame.password, addr: this.address() });
    // Checked only after the password, so presence is not revealed to strangers.
    if (await this.ctx.bus.isConnected(grant.userId)) {
      if (!frame.takeover) {
        await this.ctx.auth("logout", { sid: grant.sid }).catch(() => undefined);
        throw new NatterError("ALREADY_CONNECTED");
      }
      this.ctx.bus.kick(grant.userId, { except: this.id, reason: "takeover" });
    }
    this.authenticate(grant);
    this.push({ t: "session", id: frame.id, ...publicGrant(grant) });
  }

  private async resume(frame: ClientFrameOf<"resume">): Promise<void> {
    this.requireAnonymous();
    const identity = await this.ctx.tokens.verify(frame.token);
    if (!(await this.ctx.sessions.isActive(identity.sid))) throw new NatterError("SESSION_ENDED");
    this.authenticate(identity);
    this.push({ t: "resumed", id: frame.id, userId: identity.userId, username: identity.username });
  }

  private async refresh(frame: ClientFrameOf<"refresh">): Promise<void> {
    const grant = await this.ctx.auth("refresh", { refresh: frame.refresh });
    if (this.identity && this.identity.userId !== grant.userId) throw new NatterError("ALREADY_AUTHENTICATED");
    if (!this.identity) this.authenticate(grant);
    this.push({ t: "session", id: frame.id, ...publicGrant(grant) });
  }

  private async logout(frame: ClientFrameOf<"logout">, me: Identity): Promise<void> {
    await this.ctx.auth("logout", { sid: me.sid });
    this.ctx.bus.kick(me.userId, { sid: me.sid, except: this.id, reason: "logout" });
    this.push({ t: "ok", id: frame.id });
    this.close({ graceful: true });
  }

  private async receive(frame: ClientFrameOf<"receive">, me: Identity): Promise<void> {
    if (!this.feed) {
      if (!(await this.membership!.claimReceiver())) throw new NatterError("ALREADY_RECEIVING");
      const unacked = (this.unacked ??= new Map());
      this.feed = await this.ctx.inbox.open(
        me.userId,
        (delivery) => {
          unacked.set(delivery.message.id, delivery);
          this.ctx.metrics.delivered();
          this.push({ t: "deliver", msg: delivery.message });
        },
        (error) => {
          this.log.warn({ err: error.message }, "lost the inbox feed; closing so the client reconnects");
          this.close();
        },
      );
      if (this.closed) await this.feed.stop();
    }
    this.push({ t: "ok", id: frame.id });
  }

  private ack(msgId: string): void {
    const delivery = this.unacked?.get(msgId);
    if (!delivery) return;
    this.unacked?.delete(msgId);
    delivery.ack();
  }

  private async sendMessage(frame: ClientFrameOf<"send">, me: Identity): Promise<void> {
    if (!this.bucket.take()) throw new NatterError("RATE_LIMITED");
    if (frame.msg.body.byteLength > MAX_MESSAGE_BODY) throw new NatterError("MESSAGE_TOO_LARGE");
    // A blocked sender is not told: the message is simply never stored.
    if (await this.ctx.blocks.blocks(frame.msg.to, me.userId)) {
      return this.push({ t: "accepted", id: frame.id, msgId: frame.msg.id });
    }
    await this.stored(frame.id, frame.msg.id, () => this.ctx.inbox.publish(frame.msg.to, {
      v: 1, id: frame.msg.id, from: me.userId, fromName: me.username, body: frame.msg.body, sentAt: Date.now(),
    }));
  }

  private authenticate(identity: Identity): void {
    this.identity = { userId: identity.userId, username: identity.username, sid: identity.sid };
    clearTimeout(this.loginTimer);
    this.loginTimer = undefined;
    this.membership = this.ctx.bus.join(this.identity, this.id, (reason) => void this.kicked(reason));
    this.ctx.presence.connected(this.identity);
  }

  /** Another login took the account over, or the session logged out: end this session before the socket. */
  private async kicked(reason: "takeover" | "logout"): Promise<void> {
    const message = reason === "takeover" ? "this account logged in elsewhere" : "this session was logged out";
    this.push({ t: "event", kind: "kicked", message });
    if (reason === "takeover" && this.identity) {
      // Revoked before the socket closes, so a reconnect cannot resume the old session.
      await this.ctx.auth("logout", { sid: this.identity.sid }).catch(() => undefined);
    }
    this.close({ graceful: true });
  }

  private requireIdentity(): Identity {
    if (!this.identity) throw new NatterError("NOT_AUTHENTICATED");
    return this.identity;
  }

  private requireAnonymous(): void {
    if (this.identity) throw new NatterError("ALREADY_AUTHENTICATED");
  }

  private address(): string {
    return this.socket.remoteAddress ?? "unknown";
  }

  private replyError(id: number | undefined, error: unknown): void {
    if (!(error instanceof NatterError)) {
      this.log.error({ err: error instanceof Error ? error.message : String(error) }, "request failed");
      error = new NatterError("INTERNAL");
    }
    const { code, message } = error as NatterError;
    this.push(id === undefined ? { t: "error", code, message } : { t: "error", id, code, message });
  }

  private push(frame: ServerFrame): void {
    if (this.closed || !this.socket.writable) return;
    this.ctx.metrics.frameOut(frame.t);
    writeFrame(this.socket, frame);
  }
}

function requestIdOf(raw: unknown): number | undefined {
  if (typeof raw === "object" && raw !== null && "id" in raw && typeof raw.id === "number" && Number.isInteger(raw.id) && raw.id >= 0) {
    return raw.id;
  }
  return undefined;
}

function publicGrant(grant: z.output<Auth["login"]["res"]>) {
  return { userId: grant.userId, username: grant.username, token: grant.token, refresh: grant.refresh, expiresAt: grant.expiresAt };
}
