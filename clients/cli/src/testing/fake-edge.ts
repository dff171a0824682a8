import { randomUUID } from "node:crypto";
import type { Duplex } from "node:stream";
import {
  ClientFrame, FrameReader, NatterError, PROTOCOL_VERSION, decodeBody, encodeFrame, foldName, parse,
  type ClientFrameOf, type ErrorCode, type GroupEvent, type InboxMessage, type PrekeyBundle, type PublicBundle, type ServerFrame, type SignedPrekey,
} from "@natter/protocol";
import type { Dialer } from "../transport/connection.ts";
import type { EdgeApi } from "../messenger.ts";
import { formatServer } from "../transport/servers.ts";
import { duplexPair } from "./duplex-pair.ts";

interface Account {
  userId: string;
  username: string;
  password: string;
  bundle: PublicBundle;
  backup: string;
}

interface Stored {
  msg: InboxMessage;
  holder: FakeConnection | undefined;
}

interface FakeMember {
  userId: string;
  username: string;
  role: "admin" | "member";
  joinedAt: number;
}

interface FakeGroup {
  id: string;
  name: string;
  closed: boolean;
  members: FakeMember[];
}

interface Grant {
  userId: string;
  sid: string;
  expired: boolean;
  ended: boolean;
}

/**
 * An in-memory stand-in for the edges and the services behind them, speaking the real
 * frames: accounts, prekey claims, inboxes with at-least-once delivery and acks, message
 * dedup by id, token expiry and rotation, takeover and kicks. For tests only.
 */
export class FakeBackend {
  readonly accounts = new Map<string, Account>();
  private readonly byName = new Map<string, string>();
  private readonly inboxes = new Map<string, Stored[]>();
  private readonly storedIds = new Set<string>();
  private readonly tokens = new Map<string, Grant>();
  private readonly refreshTokens = new Map<string, Grant>();
  readonly connections = new Set<FakeConnection>();
  /** Addresses that answer; anything else refuses the connection. */
  readonly up = new Set<string>();
  /** Addresses that redirect every hello to another address. */
  readonly redirects = new Map<string, string>();
  /** Every frame clients sent, for assertions. */
  readonly frames: ClientFrame[] = [];
  now = (): number => Date.now();
  /** Sends to store and then hang up on before replying (the reply is lost, the message is not). */
  dropAfterStoring = 0;
  readonly groups = new Map<string, FakeGroup>();
  /** Stored files (ciphertext) by id. */
  readonly files = new Map<string, Uint8Array>();
  /** Every group message as published (what a server could see). */
  readonly groupMessages: Array<{ id: string; from: string; group: string; body: Uint8Array }> = [];
  /** `blocker blocked` pairs. */
  readonly blocks = new Set<string>();
  /** Encrypted profiles by user id. */
  readonly profiles = new Map<string, string>();
  /** When users who are not connected were last seen (ms), for `who --last-hour`. */
  readonly lastSeen = new Map<string, number>();
  maxFile = 100 * 1024 * 1024 + 64 * 1024;
  chunkSize = 256 * 1024;
  /** Size of the data frames a download is sent in. */
  downloadFrame = 100 * 1024;
  private joinedClock = 0;

  constructor(addresses: string[] = ["edge-a:7400"]) {
    for (const a of addresses) this.up.add(a);
  }

  /** A dialer into this backend (for CliDeps.dial). */
  readonly dial: Dialer = async (address) => {
    const name = formatServer(address);
    if (!this.up.has(name)) throw Object.assign(new Error(`connect ECONNREFUSED ${name}`), { code: "ECONNREFUSED" });
    const [client, server] = duplexPair();
    this.accept(server, name);
    return client;
  };

  accept(stream: Duplex, edge: string): FakeConnection {
    const c = new FakeConnection(this, stream, edge);
    this.connections.add(c);
    stream.once("close", () => {
      this.connections.delete(c);
      for (const box of this.inboxes.values()) for (const s of box) if (s.holder === c) s.holder = undefined;
    });
    return c;
  }

  /** Drops every connection, as an edge dying would. */
  dropAll(): void {
    for (const c of [...this.connections]) c.stream.destroy();
  }

  /** Tells every connection the edge is draining, then closes them. */
  shutdown(): void {
    for (const c of [...this.connections]) {
      c.push({ t: "event", kind: "shutdown", message: "the edge is shutting down" });
      c.stream.end();
    }
  }

  expireTokens(userId: string): void {
    for (const g of this.tokens.values()) if (g.userId === userId) g.expired = true;
  }

  endSessions(userId: string): void {
    for (const g of this.tokens.values()) if (g.userId === userId) g.ended = true;
  }

  inbox(userId: string): InboxMessage[] {
    return (this.inboxes.get(userId) ?? []).map((s) => s.msg);
  }

  /** Empties an inbox (tests that deliver by hand). */
  clearInbox(userId: string): void {
    this.inboxes.delete(userId);
  }

  userId(name: string): string {
    const id = this.byName.get(foldName(name));
    if (!id) throw new Error(`no user ${name}`);
    return id;
  }

  prekeyCount(userId: string): number {
    return this.accounts.get(userId)!.bundle.oneTimePrekeys.length;
  }

  // ---- the services' verbs --------------------------------------------------------

  register(username: string, password: string, bundle: PublicBundle, backup: string): Account {
    const name = foldName(username);
    if (this.byName.has(name)) throw new NatterError("USERNAME_TAKEN");
    const account: Account = { userId: randomUUID(), username: name, password, bundle: structuredClone(bundle), backup };
    this.accounts.set(account.userId, account);
    this.byName.set(name, account.userId);
    return account;
  }

  lookup(user: string): { userId: string; username: string; identityKey: string } {
    const a = this.find(user);
    return { userId: a.userId, username: a.username, identityKey: a.bundle.identityKey };
  }

  claim(user: string): { userId: string; username: string; bundle: PrekeyBundle } {
    const a = this.find(user);
    const { oneTimePrekeys, ...rest } = a.bundle;
    const oneTimePrekey = oneTimePrekeys.shift();
    return { userId: a.userId, username: a.username, bundle: { ...rest, ...(oneTimePrekey ? { oneTimePrekey } : {}) } };
  }

  prekeys(userId: string, add: SignedPrekey[], replace?: boolean): number {
    const a = this.accounts.get(userId)!;
    if (replace) a.bundle.oneTimePrekeys = [];
    a.bundle.oneTimePrekeys.push(...add);
    return a.bundle.oneTimePrekeys.length;
  }

  /** Whether either of two users blocks the other. */
  eitherBlocks(a: string, b: string): boolean {
    return this.blocks.has(`${a} ${b}`) || this.blocks.has(`${b} ${a}`);
  }

  /** Who is online now (and with `lastHour`, seen within the hour), `userId` and blocks left out. */
  who(userId: string, lastHour: boolean): Array<{ userId: string; username: string; online: boolean; lastSeen: number | null }> {
    const online = new Set([...this.connections].map((c) => c.userId).filter((u): u is string => u !== undefined));
    const users = [...online].map((u) => ({ userId: u, online: true, lastSeen: null as number | null }));
    if (lastHour) {
      for (const [u, at] of this.lastSeen) if (!online.has(u) && at > this.now() - 3_600_000) users.push({ userId: u, online: false, lastSeen: at });
    }
    return users
      .filter((u) => u.userId !== userId && !this.eitherBlocks(userId, u.userId))
      .map((u) => ({ ...u, username: this.accounts.get(u.userId)!.username }));
  }

  /** Stores a message once per id and pushes it to the recipient's receiving connection. */
  store(from: string, msg: { id: string; to: string; body: Uint8Array }): void {
    const sender = this.accounts.get(from)!;
    if (!this.accounts.has(msg.to)) throw new NatterError("NO_SUCH_USER");
    // As the edge does: a blocked sender's message is accepted and never stored.
    if (this.blocks.has(`${msg.to} ${from}`)) return;
    if (this.storedIds.has(msg.id)) return;
    this.storedIds.add(msg.id);
    const box = this.inboxes.get(msg.to) ?? [];
    this.inboxes.set(msg.to, box);
    box.push({ msg: { v: 1, id: msg.id, from, fromName: sender.username, body: new Uint8Array(msg.body), sentAt: this.now() }, holder: undefined });
    this.flush(msg.to);
  }

  // ---- groups, as the group service decides -------------------------------------

  group(actor: string, op: ClientFrameOf<"group">["op"], name: string, user?: string, members?: string[]): FakeGroup {
    const me = this.accounts.get(actor)!;
    const key = foldName(name);
    let g = this.groups.get(key);
    const view = (m: Account) => ({ userId: m.userId, username: m.username });
    const needMember = (): FakeGroup => {
      if (!g) throw new NatterError("NO_SUCH_GROUP");
      if (!g.members.some((m) => m.userId === actor)) throw new NatterError("NOT_A_MEMBER");
      return g;
    };
    const needAdmin = (): FakeGroup => {
      const x = needMember();
      if (x.members.find((m) => m.userId === actor)!.role !== "admin") throw new NatterError("NOT_ADMIN");
      return x;
    };
    const tell = (x: FakeGroup, kind: GroupEvent["kind"], who: { userId: string; username: string }, extra: string[] = []) => {
      const event: GroupEvent = { kind, group: { id: x.id, name: x.name }, user: { id: who.userId, name: who.username }, by: { id: actor, name: me.username } };
      const id = randomUUID();
      for (const to of new Set([...x.members.map((m) => m.userId), ...extra])) {
        this.inject(to, { v: 1, id, from: actor, fromName: me.username, body: new Uint8Array(0), sentAt: this.now(), event });
      }
    };
    const member = (a: Account, role: FakeMember["role"]): FakeMember => ({ ...view(a), role, joinedAt: ++this.joinedClock });
    switch (op) {
      case "create":
      case "join": {
        if (op === "join" && g) {
          if (g.members.some((m) => m.userId === actor)) throw new NatterError("ALREADY_A_MEMBER");
          if (g.closed) throw new NatterError("GROUP_CLOSED");
          g.members.push(member(me, "member"));
          tell(g, "joined", me);
          return g;
        }
        if (g) throw new NatterError("GROUP_NAME_TAKEN");
        const others = (members ?? []).map((n) => this.find(n));
        g = { id: randomUUID(), name: key, closed: false, members: [member(me, "admin")] };
        for (const o of others) if (!g.members.some((m) => m.userId === o.userId)) g.members.push(member(o, "member"));
        this.groups.set(key, g);
        tell(g, "created", me);
        return g;
      }
      case "members":
        return needMember();
      case "add": {
        const x = needAdmin();
        const target = this.find(user!);
        if (x.members.some((m) => m.userId === target.userId)) throw new NatterError("ALREADY_A_MEMBER");
        x.members.push(member(target, "member"));
        tell(x, "added", target);
        return x;
      }
      case "remove": {
        const x = needAdmin();
        const target = this.find(user!);
        if (!x.members.some((m) => m.userId === target.userId)) throw new NatterError("NOT_A_MEMBER");
        x.members = x.members.filter((m) => m.userId !== target.userId);
        tell(x, "removed", target, [target.userId]);
        return x;
      }
      case "leave": {
        const x = needMember();
        x.members = x.members.filter((m) => m.userId !== actor);
        tell(x, "left", me, [actor]);
        if (x.members.length === 0) this.groups.delete(key);
        else if (!x.members.some((m) => m.role === "admin")) x.members[0]!.role = "admin";
        return x;
      }
      case "admin": {
        const x = needAdmin();
        const target = x.members.find((m) => m.username === foldName(user!));
        if (!target) throw new NatterError("NOT_A_MEMBER");
        target.role = "admin";
        tell(x, "admin", target);
        return x;
      }
      case "close": {
        const x = needAdmin();
        x.closed = true;
        tell(x, "closed", me);
        return x;
      }
    }
  }

  /** Copies a group message to every other member, once per (message, member). */
  gsend(from: string, msg: { id: string; group: string; body: Uint8Array }): void {
    const sender = this.accounts.get(from)!;
    this.groupMessages.push({ id: msg.id, from, group: msg.group, body: new Uint8Array(msg.body) });
    const g = [...this.groups.values()].find((x) => x.id === msg.group);
    if (!g || !g.members.some((m) => m.userId === from)) return;
    for (const m of g.members) {
      if (m.userId === from || this.storedIds.has(`${msg.id}:${m.userId}`)) continue;
      this.storedIds.add(`${msg.id}:${m.userId}`);
      this.inject(m.userId, { v: 1, id: msg.id, from, fromName: sender.username, body: new Uint8Array(msg.body), sentAt: this.now(), group: { id: g.id, name: g.name } });
    }
  }

  /** Puts a message in an inbox as if it came from `from` (e.g. garbage, or a replay). */
  inject(to: string, msg: InboxMessage): void {
    const box = this.inboxes.get(to) ?? [];
    this.inboxes.set(to, box);
    box.push({ msg, holder: undefined });
    this.flush(to);
  }

  /** The messenger's edge as this backend answers `userId` (no frames). */
  api(userId: string): EdgeApi {
    return {
      claim: async (user) => this.claim(user),
      lookup: async (user) => this.lookup(user),
      send: async (msg) => this.store(userId, msg),
      prekeys: async (add, replace) => this.prekeys(userId, add, replace),
      members: async (name) => {
        const g = this.group(userId, "members", name);
        return { group: { id: g.id, name: g.name, closed: g.closed }, members: g.members.map((m) => ({ ...m })) };
      },
      gsend: async (msg) => this.gsend(userId, msg),
    };
  }

  ack(c: FakeConnection, msgId: string): void {
    const box = this.inboxes.get(c.userId ?? "") ?? [];
    const i = box.findIndex((s) => s.msg.id === msgId && s.holder === c);
    if (i >= 0) box.splice(i, 1);
  }

  flush(userId: string): void {
    const receiver = [...this.connections].find((c) => c.userId === userId && c.receiving);
    if (!receiver) return;
    for (const s of this.inboxes.get(userId) ?? []) {
      if (s.holder) continue;
      s.holder = receiver;
      receiver.push({ t: "deliver", msg: s.msg });
    }
  }

  grant(userId: string): { token: string; refresh: string; expiresAt: number } {
    const g: Grant = { userId, sid: randomUUID(), expired: false, ended: false };
    const token = `t-${randomUUID()}`;
    const refresh = `r-${randomUUID()}`;
    this.tokens.set(token, g);
    this.refreshTokens.set(refresh, g);
    return { token, refresh, expiresAt: this.now() + 3_600_000 };
  }

  tokenGrant(token: string): Grant {
    const g = this.tokens.get(token);
    if (!g) throw new NatterError("TOKEN_INVALID");
    if (g.ended) throw new NatterError("SESSION_ENDED");
    if (g.expired) throw new NatterError("TOKEN_EXPIRED");
    return g;
  }

  rotate(refresh: string): Grant {
    const g = this.refreshTokens.get(refresh);
    if (!g) throw new NatterError("TOKEN_INVALID");
    if (g.ended) throw new NatterError("SESSION_ENDED");
    this.refreshTokens.delete(refresh);
    return g;
  }

  private find(user: string): Account {
    const id = this.byName.get(foldName(user));
    if (!id) throw new NatterError("NO_SUCH_USER");
    return this.accounts.get(id)!;
  }
}

/** One client connection to the fake edge. */
export class FakeConnection {
  userId: string | undefined;
  sid: string | undefined;
  receiving = false;
  private hello = false;
  private readonly uploads = new Map<string, { size: number; parts: Uint8Array[]; received: number }>();

  constructor(
    private readonly backend: FakeBackend,
    readonly stream: Duplex,
    private readonly edge: string,
  ) {
    const reader = new FrameReader();
    stream.on("end", () => stream.end());
    stream.on("error", () => undefined);
    stream.on("data", (chunk: Buffer) => {
      for (const body of reader.push(chunk)) {
        let frame: ClientFrame;
        try {
          frame = parse(ClientFrame, decodeBody(body));
        } catch {
          this.push({ t: "error", code: "BAD_FRAME", message: "bad frame" });
          stream.destroy();
          return;
        }
        backend.frames.push(frame);
        this.handle(frame);
      }
    });
  }

  push(frame: ServerFrame): void {
    if (!this.stream.destroyed && this.stream.writable) this.stream.write(encodeFrame(frame));
  }

  private handle(frame: ClientFrame): void {
    const b = this.backend;
    if (frame.t === "hello") {
      const to = b.redirects.get(this.edge);
      if (to) {
        this.push({ t: "redirect", to });
        this.stream.end();
        return;
      }
      if (frame.v !== PROTOCOL_VERSION) return this.push({ t: "error", code: "VERSION_MISMATCH", message: "no" });
      this.hello = true;
      return this.push({ t: "welcome", v: PROTOCOL_VERSION, edge: this.edge, maxFrame: 1024 * 1024, maxFile: b.maxFile, chunkSize: b.chunkSize });
    }
    if (frame.t === "ack") {
      b.ack(this, frame.msgId);
      return;
    }
    const id = frame.id;
    try {
      if (!this.hello) throw new NatterError("BAD_FRAME");
      const reply = this.answer(frame);
      if (reply) this.push(reply);
    } catch (err) {
      const code: ErrorCode = err instanceof NatterError ? err.code : "INTERNAL";
      this.push({ t: "error", id, code, message: "refused" });
    }
  }

  private answer(frame: Exclude<ClientFrame, { t: "hello" | "ack" }>): ServerFrame | undefined {
    const b = this.backend;
    const id = frame.id;
    switch (frame.t) {
      case "register": {
        const a = b.register(frame.username, frame.password, frame.bundle, frame.backup);
        return this.session(id, a.userId);
      }
      case "login": {
        const a = [...b.accounts.values()].find((x) => x.username === foldName(frame.username));
        if (!a || a.password !== frame.password) throw new NatterError("BAD_CREDENTIALS");
        const others = [...b.connections].filter((c) => c !== this && c.userId === a.userId);
        if (others.length > 0 && !frame.takeover) throw new NatterError("ALREADY_CONNECTED");
        for (const c of others) {
          c.push({ t: "event", kind: "kicked", message: "logged in elsewhere" });
          c.stream.end();
        }
        b.endSessions(a.userId);
        return this.session(id, a.userId);
      }
      case "resume": {
        const g = b.tokenGrant(frame.token);
        this.userId = g.userId;
        this.sid = g.sid;
        return { t: "resumed", id, userId: g.userId, username: b.accounts.get(g.userId)!.username };
      }
      case "refresh": {
        const g = b.rotate(frame.refresh);
        return this.session(id, g.userId);
      }
    }
    const userId = this.userId;
    if (!userId) throw new NatterError("NOT_AUTHENTICATED");
    switch (frame.t) {
      case "logout":
        b.endSessions(userId);
        setImmediate(() => this.stream.end());
        return { t: "ok", id };
      case "receive": {
        if ([...b.connections].some((c) => c !== this && c.userId === userId && c.receiving)) throw new NatterError("ALREADY_RECEIVING");
        this.receiving = true;
        this.push({ t: "ok", id });
        b.flush(userId);
        return undefined;
      }
      case "send":
        b.store(userId, frame.msg);
        if (b.dropAfterStoring > 0) {
          b.dropAfterStoring--;
          this.stream.destroy();
          return undefined;
        }
        return { t: "accepted", id, msgId: frame.msg.id };
      case "user":
        return { t: "user", id, ...b.lookup(frame.user) };
      case "claim":
        return { t: "keys", id, ...b.claim(frame.user) };
      case "prekeys":
        return { t: "prekeys", id, count: b.prekeys(userId, frame.add, frame.replace) };
      case "backup": {
        const a = b.accounts.get(userId)!;
        if (frame.put) a.backup = frame.put;
        return { t: "backup", id, backup: a.backup };
      }
      case "ping":
        return { t: "pong", id };
      case "who":
        return { t: "who", id, users: b.who(userId, frame.lastHour === true) };
      case "block":
      case "unblock": {
        const target = b.lookup(frame.user).userId;
        if (target === userId) throw new NatterError("CANNOT_BLOCK_SELF");
        if (frame.t === "block") b.blocks.add(`${userId} ${target}`);
        else b.blocks.delete(`${userId} ${target}`);
        return { t: "ok", id };
      }
      case "profile":
        if (frame.put) b.profiles.set(userId, frame.put.blob);
        return { t: "profile", id, blob: b.profiles.get(userId) ?? null };
      case "profileOf": {
        const them = b.lookup(frame.user);
        if (b.eitherBlocks(userId, them.userId)) throw new NatterError("NO_SUCH_USER");
        return { t: "profileOf", id, userId: them.userId, username: them.username, blob: b.profiles.get(them.userId) ?? null };
      }
      case "group": {
        const g = b.group(userId, frame.op, frame.name, frame.user, frame.members);
        if (frame.op === "members") return { t: "members", id, group: { id: g.id, name: g.name, closed: g.closed }, members: g.members.map((m) => ({ ...m })) };
        return { t: "group", id, group: { id: g.id, name: g.name, closed: g.closed, members: g.members.map(({ joinedAt: _, ...m }) => m) } };
      }
      case "groups":
        return { t: "groups", id, groups: [...b.groups.values()].map((g) => ({ id: g.id, name: g.name, members: g.members.length, closed: g.closed })) };
      case "gsend":
        b.gsend(userId, frame.msg);
        return { t: "accepted", id, msgId: frame.msg.id };
      case "upload": {
        if (frame.size > b.maxFile) throw new NatterError("FILE_TOO_LARGE");
        const file = randomUUID();
        this.uploads.set(file, { size: frame.size, parts: [], received: 0 });
        return { t: "upload", id, file };
      }
      case "chunk": {
        const u = this.uploads.get(frame.upload);
        if (!u) throw new NatterError("BAD_FRAME");
        u.received += frame.data.byteLength;
        if (u.received > u.size) throw new NatterError("FILE_TOO_LARGE");
        u.parts.push(new Uint8Array(frame.data));
        if (!frame.last) return { t: "ok", id };
        if (u.received !== u.size) throw new NatterError("BAD_FRAME");
        this.uploads.delete(frame.upload);
        b.files.set(frame.upload, new Uint8Array(Buffer.concat(u.parts)));
        return { t: "stored", id, file: frame.upload, size: u.size };
      }
      case "download": {
        const data = b.files.get(frame.file);
        if (!data) throw new NatterError("NO_SUCH_FILE");
        for (let off = 0; off < data.byteLength; off += b.downloadFrame) {
          this.push({ t: "data", id, data: data.subarray(off, off + b.downloadFrame), last: false });
        }
        return { t: "data", id, data: new Uint8Array(0), last: true };
      }
    }
  }

  private session(id: number, userId: string): ServerFrame {
    const b = this.backend;
    const g = b.grant(userId);
    this.userId = userId;
    return { t: "session", id, userId, username: b.accounts.get(userId)!.username, ...g };
  }
}

