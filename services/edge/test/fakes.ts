/** Fakes of the edge's ports and of a connection, for the handlers' unit tests. */
import { Duplex } from "node:stream";
import type { z } from "zod";
import { decodeBody, encodeFrame, FrameReader, NatterError, type GroupEnvelope, type InboxMessage, type ServerFrame, type Verb } from "@natter/protocol";
import type { Logger, ServiceCall } from "@natter/kit";
import { quietLogger } from "@natter/kit/testing";
import type {
  BlockList, Delivery, DeviceFeed, EdgeMetrics, FileQuota, FileStore, Identity, Inbox, PresenceReport, Recipients, SessionBus, SessionCheck, SessionMembership, TokenVerifier,
  QuotaReservation,
} from "../src/domain/ports.ts";
import { Admission, type AdmissionLimits } from "../src/domain/admission.ts";
import { PartialFrameBudget } from "../src/domain/partial-frame-budget.ts";
import type { MessagingClient } from "../src/handlers/messaging.ts";
import type { SessionClient } from "../src/handlers/session.ts";
import type { TransferClient } from "../src/handlers/transfers.ts";
import type { Upload } from "../src/handlers/upload.ts";

export const ALICE: Identity = { userId: "00000000-0000-4000-8000-00000000a11c", username: "alice", sid: "00000000-0000-4000-8000-0000000005a1" };
export const BOB: Identity = { userId: "00000000-0000-4000-8000-000000000b0b", username: "bob", sid: "00000000-0000-4000-8000-0000000005b0" };

/** A connection as the handlers see it: records what they push, answer and close. */
export class FakeClient implements SessionClient, MessagingClient, TransferClient {
  readonly id = "conn-1";
  readonly address = "192.0.2.1";
  readonly log: Logger = quietLogger();
  readonly pushed: ServerFrame[] = [];
  readonly errors: Array<{ id: number | undefined; code: string }> = [];
  closed = false;
  closedGracefully: boolean | undefined;
  greeted = false;
  loginTimerStopped = false;
  buffered = 0;
  identity: Identity | undefined;
  membership: SessionMembership | undefined;
  feed: DeviceFeed | undefined;
  unacked: Map<string, Delivery> | undefined;
  uploads: Map<string, Upload> | undefined;

  get userId(): string | undefined {
    return this.identity?.userId;
  }

  push(frame: ServerFrame): void {
    if (!this.closed) this.pushed.push(frame);
  }

  /** Recorded as the frame the client would read. */
  pushEncoded(_t: ServerFrame["t"], frame: Uint8Array): void {
    for (const body of new FrameReader().push(Buffer.from(frame))) this.push(decodeBody(body) as ServerFrame);
  }

  replyError(id: number | undefined, error: unknown): void {
    this.errors.push({ id, code: error instanceof NatterError ? error.code : "INTERNAL" });
  }

  close(options: { graceful?: boolean } = {}): void {
    if (this.closed) return;
    this.closed = true;
    this.closedGracefully = Boolean(options.graceful);
  }

  async drained(): Promise<void> {
    this.buffered = 0;
  }

  greet(): void {
    this.greeted = true;
  }

  loggedIn(): void {
    this.loginTimerStopped = true;
  }

  /** The frames pushed of one type. */
  frames<T extends ServerFrame["t"]>(t: T): Array<Extract<ServerFrame, { t: T }>> {
    return this.pushed.filter((f): f is Extract<ServerFrame, { t: T }> => f.t === t);
  }
}

type Answer<V extends Verb> = (req: z.input<V["req"]>) => z.output<V["res"]> | Promise<z.output<V["res"]>>;

/**
 * A service that answers the verbs it is taught and records every call; an untaught verb
 * gets `fallback`'s answer, or UNAVAILABLE.
 */
export class FakeService<A extends Record<string, Verb>> {
  readonly calls: Array<{ verb: keyof A & string; req: unknown }> = [];
  private readonly answers = new Map<string, Answer<Verb>>();

  constructor(private readonly fallback?: (verb: string, req: unknown) => unknown) {}

  answer<K extends keyof A & string>(verb: K, answer: Answer<A[K]>): this {
    this.answers.set(verb, answer as Answer<Verb>);
    return this;
  }

  readonly call: ServiceCall<A> = async <K extends keyof A & string>(verb: K, req: z.input<A[K]["req"]>) => {
    this.calls.push({ verb, req });
    const answer = this.answers.get(verb) ?? (this.fallback && ((r: unknown) => this.fallback!(verb, r)));
    if (!answer) throw new NatterError("UNAVAILABLE");
    // Taught through `answer`, which typed it for this verb.
    return (await answer(req)) as z.output<A[K]["res"]>;
  };

  /** The requests made of one verb. */
  requests(verb: keyof A & string): unknown[] {
    return this.calls.filter((c) => c.verb === verb).map((c) => c.req);
  }
}

/** The cluster's sessions: who is connected, the kicks sent, and the memberships handed out. */
export class FakeBus implements SessionBus {
  readonly connected = new Set<string>();
  readonly kicks: Array<{ userId: string; sid?: string; except: string; reason: "takeover" | "logout" }> = [];
  readonly joined: Array<{ identity: Identity; connId: string; onKick: (reason: "takeover" | "logout") => void; left: boolean }> = [];
  /** Whether another connection of the account receives already. */
  receiverTaken = false;

  async isConnected(userId: string): Promise<boolean> {
    return this.connected.has(userId);
  }

  join(identity: Identity, connId: string, onKick: (reason: "takeover" | "logout") => void): SessionMembership {
    const entry = { identity, connId, onKick, left: false };
    this.joined.push(entry);
    return {
      claimReceiver: async () => !this.receiverTaken,
      leave: () => { entry.left = true; },
    };
  }

  kick(userId: string, scope: { sid?: string; except: string; reason: "takeover" | "logout" }): void {
    this.kicks.push({ userId, ...scope });
  }
}

/** Accepts the tokens it was given, as the identities they name; refuses any other. */
export class FakeTokens implements TokenVerifier {
  readonly tokens = new Map<string, Identity>();

  async verify(token: string): Promise<Identity> {
    const identity = this.tokens.get(token);
    if (!identity) throw new NatterError("TOKEN_INVALID");
    return identity;
  }
}

/** Sessions still active, by sid. */
export class FakeSessions implements SessionCheck {
  readonly ended = new Set<string>();

  async isActive(sid: string): Promise<boolean> {
    return !this.ended.has(sid);
  }
}

export class RecordingPresence implements PresenceReport {
  readonly events: Array<[string, string]> = [];

  connected(identity: Identity): void {
    this.events.push(["connected", identity.username]);
  }

  disconnected(identity: Identity): void {
    this.events.push(["disconnected", identity.username]);
  }
}

/** An inbox in memory: what was stored, and the feed of the one device receiving. */
export class FakeInbox implements Inbox {
  readonly stored: Array<{ to: string; message: InboxMessage }> = [];
  readonly groupStored: GroupEnvelope[] = [];
  failing = false;
  /** Resolves a publish; held back until `release` when `hold` is set. */
  hold = false;
  private held: Array<() => void> = [];
  feeds: Array<{ userId: string; deliver: (delivery: Delivery) => void; lose: (error: Error) => void; stopped: boolean }> = [];

  async publish(to: string, message: InboxMessage): Promise<void> {
    await this.store();
    this.stored.push({ to, message });
  }

  async publishGroup(envelope: GroupEnvelope): Promise<void> {
    await this.store();
    this.groupStored.push(envelope);
  }

  async open(userId: string, onDelivery: (delivery: Delivery) => void, onLost: (error: Error) => void): Promise<DeviceFeed> {
    const feed = { userId, deliver: onDelivery, lose: onLost, stopped: false };
    this.feeds.push(feed);
    return { stop: async () => { feed.stopped = true; } };
  }

  /** Lets held publishes finish. */
  release(): void {
    for (const done of this.held.splice(0)) done();
  }

  private async store(): Promise<void> {
    if (this.hold) await new Promise<void>((done) => this.held.push(done));
    if (this.failing) throw new Error("JetStream unavailable");
  }
}

/** Who blocks whom: recipient → senders they block. */
export class FakeBlocks implements BlockList {
  readonly blocking = new Map<string, Set<string>>();

  async blocks(recipient: string, sender: string): Promise<boolean> {
    return this.blocking.get(recipient)?.has(sender) ?? false;
  }
}

/** Accounts that exist: everyone but the ids in `missing`. */
export class FakeRecipients implements Recipients {
  readonly missing = new Set<string>();

  async exists(userId: string): Promise<boolean> {
    return !this.missing.has(userId);
  }
}

/** A user's sends allowed: `tokens` each, Infinity unless set. */
export class FakeSendRates {
  readonly tokens = new Map<string, number>();

  take(userId: string): boolean {
    const left = this.tokens.get(userId) ?? Infinity;
    if (left < 1) return false;
    this.tokens.set(userId, left - 1);
    return true;
  }
}

/** The guards a transport is given, with limits that no unit test reaches unless it sets them. */
export function openGuards(limits: Partial<AdmissionLimits> & { partialBytes?: number } = {}) {
  return {
    keepaliveMs: 30_000,
    admission: new Admission({ perAddress: 1000, total: 1000, preLoginRate: 1000, ...limits }),
    partialFrames: new PartialFrameBudget(limits.partialBytes ?? 64 * 1024 * 1024),
  };
}

/** A quota in bytes per user (Infinity unless set), and what each has set aside. */
export class FakeQuota implements FileQuota {
  limit = Infinity;
  readonly used = new Map<string, number>();

  async reserve(userId: string, bytes: number): Promise<QuotaReservation | undefined> {
    const used = this.used.get(userId) ?? 0;
    if (used + bytes > this.limit) return undefined;
    this.used.set(userId, used + bytes);
    return { release: async () => { this.used.set(userId, (this.used.get(userId) ?? 0) - bytes); } };
  }
}

/** Files in memory; `failing` makes every store fail. */
export class FakeFiles implements FileStore {
  readonly files = new Map<string, Uint8Array>();
  failing = false;

  async put(id: string, source: ReadableStream<Uint8Array>): Promise<{ size: number }> {
    const parts: Uint8Array[] = [];
    for await (const part of source) parts.push(part);
    if (this.failing) throw new Error("object store unavailable");
    const bytes = Buffer.concat(parts);
    this.files.set(id, bytes);
    return { size: bytes.byteLength };
  }

  async get(id: string): Promise<{ data: ReadableStream<Uint8Array>; size: number } | null> {
    const bytes = this.files.get(id);
    if (!bytes) return null;
    return { data: new Blob([bytes]).stream(), size: bytes.byteLength };
  }
}

/** Counts what the edge counts. */
export class RecordingMetrics implements EdgeMetrics {
  readonly framesIn: string[] = [];
  readonly framesOut: string[] = [];
  readonly counts = { accepted: 0, publishFailed: 0, delivered: 0 };

  frameIn(type: string): void {
    this.framesIn.push(type);
  }

  frameOut(type: string): void {
    this.framesOut.push(type);
  }

  accepted(): void {
    this.counts.accepted += 1;
  }

  publishFailed(): void {
    this.counts.publishFailed += 1;
  }

  delivered(): void {
    this.counts.delivered += 1;
  }
}

/** Two ends of an in-memory byte stream: what one writes, the other reads. */
export function duplexPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const end = (other: () => Duplex) => new Duplex({
    read() {},
    write(chunk, _encoding, done) {
      other().push(chunk);
      done();
    },
    final(done) {
      other().push(null);
      done();
    },
  });
  ends.push(end(() => ends[1]!), end(() => ends[0]!));
  return [ends[0]!, ends[1]!];
}

/** The client's end: sends frames and bytes, and reads what the connection answers. */
export class Peer {
  private readonly frames: ServerFrame[] = [];
  private readonly reader = new FrameReader(64 * 1024);

  constructor(readonly socket: Duplex) {
    socket.on("data", (chunk: Buffer) => {
      for (const body of this.reader.push(chunk)) this.frames.push(decodeBody(body) as ServerFrame);
    });
  }

  send(frame: object): void {
    this.socket.write(encodeFrame(frame));
  }

  /** Every frame answered so far, once the connection has had a moment. */
  async received(): Promise<ServerFrame[]> {
    await new Promise((resolve) => setTimeout(resolve, 5));
    return this.frames.splice(0);
  }
}
