import {
  CryptoError, DeviceIdentity, InboundSenderKeys, OutboundSenderKey, Session, fromBase64url, generateProfileKey, safetyNumber, toBase64url,
  type Primitives, type PrekeyBundle, type SignedPrekey,
} from "@natter/crypto";
import { MAX_MESSAGE_BODY, Name, type GroupEvent, type InboxMessage, type ServerFrameOf } from "@natter/protocol";
import { CliError } from "./errors.ts";
import type { AccountFile, Contact, GroupFile, HomeStore } from "./home-store.ts";
import { decodePayload, encodePayload, FileRef, type Content, type Payload } from "./payload.ts";
import { planGroupSend } from "./sender-key-plan.ts";

/** The edge requests the messenger needs; the link implements them over frames, tests in memory. */
export interface EdgeApi {
  claim(user: string): Promise<{ userId: string; username: string; bundle: PrekeyBundle }>;
  lookup(user: string): Promise<{ userId: string; username: string; identityKey: string }>;
  send(msg: { id: string; to: string; body: Uint8Array }): Promise<void>;
  /** Adds one-time prekeys (`replace` drops the unused ones first); returns how many the server holds. */
  prekeys(add: SignedPrekey[], replace?: boolean): Promise<number>;
  /** A group's members now (NOT_A_MEMBER unless I am one). */
  members(group: string): Promise<Omit<ServerFrameOf<"members">, "t" | "id">>;
  /** Publishes a group message sealed with my sender key. */
  gsend(msg: { id: string; group: string; body: Uint8Array }): Promise<void>;
}

/** Things worth telling the user that are not failures. */
export type Notice =
  | { kind: "identity-changed"; user: string }
  | { kind: "undecryptable"; user: string; id: string; group?: string }
  | { kind: "unsupported"; user: string; id: string }
  /** A received file that will never arrive (expired, tampered with, no room). */
  | { kind: "file-failed"; user: string; id: string; group?: string; code: string; reason: string };

export interface MessengerDeps {
  p: Primitives;
  home: HomeStore;
  edge: EdgeApi;
  now(): number;
  /** A fresh message id (uuid v7). */
  newId(): string;
  notice(n: Notice): void;
}

/** A message ready to show (a file once it is downloaded). */
export interface ShownMessage {
  id: string;
  from: string;
  fromId: string;
  /** The group's name, for a group message. */
  group?: string;
  sentAt: number;
  content: Content;
}

/** A change of a group's membership, as the group service reported it. */
export interface ShownEvent {
  id: string;
  group: string;
  groupId: string;
  event: GroupEvent["kind"];
  user: string;
  by?: string;
  sentAt: number;
}

export type Incoming =
  | { kind: "message"; message: ShownMessage; newSession: boolean }
  | { kind: "event"; event: ShownEvent }
  | { kind: "duplicate" }
  | { kind: "dropped"; newSession: boolean };

/** Kept per peer: the active session and the ones it replaced, tried in turn (simultaneous initiation). */
const SESSIONS_PER_PEER = 3;
/** Below this many one-time prekeys on the server, upload `PREKEY_REFILL` more. */
export const PREKEY_LOW_WATER = 20;
export const PREKEY_REFILL = 50;
/** Room left in a message body for the ratchet's header and tag. */
const ENVELOPE_OVERHEAD = 1024;

/**
 * The messaging core: encrypts for and decrypts from peers, keeping ratchet sessions,
 * contacts and shown ids in the home. Every read-modify-write of home state runs under the
 * home lock, so processes sharing a home never lose each other's ratchet steps.
 */
export class Messenger {
  constructor(private readonly deps: MessengerDeps) {}

  /** Encrypts `text` for `user`, stores the advanced session and sends it; returns the message id. */
  send(user: string, text: string): Promise<{ id: string; to: string; userId: string }> {
    return this.sendPayload(user, { type: "text", text, sentAt: this.deps.now() });
  }

  /**
   * Encrypts any payload for `user` over the 1:1 session (starting one if needed) and sends
   * it, with my profile key inside so the contact can read my profile.
   */
  async sendPayload(user: string, payload: Payload): Promise<{ id: string; to: string; userId: string }> {
    const { home, edge, p } = this.deps;
    const name = parseName(user);
    const me = await this.account();
    if (name === me.username) throw new CliError("SELF");
    const plaintext = encodePayload({ ...payload, profileKey: toBase64url(await this.profileKey()) });
    if (plaintext.byteLength > MAX_MESSAGE_BODY - ENVELOPE_OVERHEAD) throw new CliError("MESSAGE_TOO_LARGE");

    let claimed: Awaited<ReturnType<EdgeApi["claim"]>> | undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      const known = findByName(await home.readContacts(), name);
      if (!claimed && (!known || (await home.readPeerSessions(known.userId)).length === 0)) claimed = await edge.claim(name);
      const peer = claimed ?? known;
      if (!peer) continue;
      const msg = await home.withLock(async () => {
        const stored = await this.loadSessions(peer.userId);
        let session = stored[0];
        if (!session) {
          if (!claimed) return undefined; // the sessions went away meanwhile: claim and retry
          const account = await this.account();
          const device = await DeviceIdentity.fromJSON(p, account.device);
          session = await wrapCrypto(() => Session.initiate(p, device, claimed!.bundle));
          stored.unshift(session);
          await this.rememberContact(peer.userId, claimed.username, session.remoteIdentityKey);
        }
        const body = await session.encrypt(plaintext);
        await this.saveSessions(peer.userId, stored);
        return { id: this.deps.newId(), to: peer.userId, body };
      });
      if (!msg) continue;
      await edge.send(msg);
      return { id: msg.id, to: name, userId: peer.userId };
    }
    throw new CliError("NO_SUCH_USER");
  }

  /**
   * Sends `content` to a group: fetches the members, makes a new sender key when the plan
   * says so (planGroupSend), hands my key over the 1:1 sessions to every member who lacks
   * it, then seals the message once with the sender key and publishes it. Retried when
   * another process of this home changed the key meanwhile.
   */
  async sendGroup(groupName: string, content: Content): Promise<{ id: string; group: string; groupId: string }> {
    const { home, edge, p } = this.deps;
    const name = parseGroupName(groupName);
    const me = await this.account();
    const plaintext = encodePayload(content);
    if (plaintext.byteLength > MAX_MESSAGE_BODY - ENVELOPE_OVERHEAD) throw new CliError("MESSAGE_TOO_LARGE");
    for (let attempt = 0; attempt < 3; attempt++) {
      const { group, members } = await edge.members(name);
      const step = await home.withLock(async () => {
        const g = (await home.readGroup(group.id)) ?? emptyGroup(group);
        const plan = planGroupSend({ hasKey: g.outbound !== undefined, sentTo: g.sentTo, rotate: g.rotate }, members, me.userId);
        let key = g.outbound === undefined ? undefined : OutboundSenderKey.fromJSON(p, g.outbound);
        if (plan.newKey || !key) {
          key = key ? await key.rotate() : await OutboundSenderKey.create(p, group.id);
          Object.assign(g, { outbound: key.toJSON(), sentTo: {}, rotate: false });
        }
        await home.writeGroup({ ...g, name: group.name });
        return { keyId: key.keyId, distribution: toBase64url(key.distribution()), to: plan.distributeTo };
      });
      const reached: Record<string, number> = {};
      for (const userId of step.to) {
        const member = members.find((m) => m.userId === userId)!;
        await this.sendPayload(member.username, { type: "sender-key", group: { id: group.id, name: group.name }, distribution: step.distribution });
        reached[userId] = member.joinedAt;
      }
      const msg = await home.withLock(async () => {
        const g = await home.readGroup(group.id);
        const key = g?.outbound === undefined ? undefined : OutboundSenderKey.fromJSON(p, g.outbound);
        if (!g || !key || key.keyId !== step.keyId) return undefined; // rotated meanwhile: start over
        const body = await key.encrypt(plaintext);
        await home.writeGroup({ ...g, outbound: key.toJSON(), sentTo: { ...g.sentTo, ...reached } });
        return { id: this.deps.newId(), group: group.id, body };
      });
      if (!msg) continue;
      await edge.gsend(msg);
      return { id: msg.id, group: group.name, groupId: group.id };
    }
    throw new CliError("HOME_LOCKED");
  }

  /**
   * Decrypts one delivery and stores what changed (sessions, device, contact, shown id).
   * The caller shows a `message`, then acks; `duplicate` and `dropped` are acked unshown
   * (a message that does not decrypt now never will). Errors of the home are thrown, so
   * the delivery is not acked and comes again.
   */
  async receive(msg: InboxMessage): Promise<Incoming> {
    const { home } = this.deps;
    return home.withLock(async (): Promise<Incoming> => {
      if (await home.hasSeen(msg.id)) {
        // A file whose download did not finish is handed out again until it does.
        const pending = (await home.readPendingFiles())[msg.id];
        const file = pending && FileRef.safeParse(pending.file);
        if (pending && file?.success) {
          const { id, from, fromId, group, sentAt } = pending;
          return { kind: "message", newSession: false, message: { id, from, fromId, ...(group ? { group } : {}), sentAt, content: { type: "file", file: file.data, sentAt } } };
        }
        return { kind: "duplicate" };
      }
      if (msg.event) return this.receiveEvent(msg, msg.event);
      if (msg.group) return this.receiveGroup(msg, msg.group);
      return this.receiveDirect(msg);
    });
  }

  /**
   * After I removed someone or left: my next send in the group makes a new sender key
   * (and leaving forgets the group's keys here).
   */
  async membershipChanged(group: { id: string; name: string }, kind: "removed" | "left"): Promise<void> {
    const { home } = this.deps;
    await home.withLock(async () => {
      const g = (await home.readGroup(group.id)) ?? emptyGroup(group);
      await home.writeGroup(kind === "left" ? { ...emptyGroup(group), rotate: true } : { ...g, rotate: true });
    });
  }

  /** Tells the user something through the messenger's notice channel. */
  notify(n: Notice): void {
    this.deps.notice(n);
  }

  /** Forgets a file message once its download has finished or can never finish. */
  async settleFile(id: string): Promise<void> {
    const { home } = this.deps;
    await home.withLock(async () => {
      const pending = await home.readPendingFiles();
      if (!(id in pending)) return;
      delete pending[id];
      await home.writePendingFiles(pending);
    });
  }

  /** A 1:1 message: the ratchet sessions with the sender, or a new one. Call under the lock. */
  private async receiveDirect(msg: InboxMessage): Promise<Incoming> {
    const { home, p } = this.deps;
    const sessions = await this.loadSessions(msg.from);
    let plaintext: Uint8Array | undefined;
    let duplicate = false;
    for (const [i, session] of sessions.entries()) {
      try {
        plaintext = await session.decrypt(msg.body);
        sessions.splice(i, 1);
        sessions.unshift(session);
        break;
      } catch (err) {
        if (!(err instanceof CryptoError)) throw err;
        if (err.code === "DUPLICATE_MESSAGE") duplicate = true;
      }
    }
    let newSession = false;
    if (plaintext === undefined && !duplicate && Session.isInitialMessage(msg.body)) {
      const account = await this.account();
      const device = await DeviceIdentity.fromJSON(p, account.device);
      try {
        const accepted = await Session.accept(p, device, msg.body);
        plaintext = accepted.plaintext;
        sessions.unshift(accepted.session);
        newSession = true;
        await home.writeAccount({ ...account, device: device.toJSON() });
      } catch (err) {
        if (!(err instanceof CryptoError)) throw err;
      }
    }
    if (duplicate && plaintext === undefined) {
      // The ratchet already opened it: it was shown before the id was stored.
      await home.markSeen(msg.id);
      return { kind: "duplicate" };
    }
    if (plaintext === undefined) {
      await home.markSeen(msg.id);
      this.deps.notice({ kind: "undecryptable", user: msg.fromName, id: msg.id });
      return { kind: "dropped", newSession: false };
    }
    await this.rememberContact(msg.from, msg.fromName, sessions[0]!.remoteIdentityKey);
    await this.saveSessions(msg.from, sessions);
    const payload = decodePayload(plaintext);
    if (payload?.profileKey !== undefined) await this.rememberProfileKey(msg.from, payload.profileKey);
    if (payload?.type === "sender-key") {
      await this.takeSenderKey(msg, payload);
      await home.markSeen(msg.id);
      return { kind: "dropped", newSession };
    }
    return this.shown(msg, payload, newSession);
  }

  /** A group copy: opened with the sender's sender key for that group. Call under the lock. */
  private async receiveGroup(msg: InboxMessage, ref: { id: string; name: string }): Promise<Incoming> {
    const { home, p } = this.deps;
    const g = await home.readGroup(ref.id);
    const stored = g?.inbound[msg.from];
    let plaintext: Uint8Array | undefined;
    if (g && stored !== undefined) {
      const keys = InboundSenderKeys.fromJSON(p, stored);
      try {
        plaintext = await keys.decrypt(msg.body);
        await home.writeGroup({ ...g, inbound: { ...g.inbound, [msg.from]: keys.toJSON() } });
      } catch (err) {
        if (!(err instanceof CryptoError)) throw err;
        if (err.code === "DUPLICATE_MESSAGE") {
          await home.markSeen(msg.id);
          return { kind: "duplicate" };
        }
      }
    }
    if (plaintext === undefined) {
      await home.markSeen(msg.id);
      this.deps.notice({ kind: "undecryptable", user: msg.fromName, id: msg.id, group: ref.name });
      return { kind: "dropped", newSession: false };
    }
    const payload = decodePayload(plaintext);
    return this.shown(msg, payload?.type === "sender-key" ? undefined : payload, false, ref.name);
  }

  /**
   * A membership change. Anyone leaving or being removed means my next send makes a new
   * sender key; when it is me, the group's keys here go. Call under the lock.
   */
  private async receiveEvent(msg: InboxMessage, event: GroupEvent): Promise<Incoming> {
    const { home } = this.deps;
    if (event.kind === "left" || event.kind === "removed") {
      const me = await this.account();
      const g = (await home.readGroup(event.group.id)) ?? emptyGroup(event.group);
      const mine = event.user.id === me.userId;
      await home.writeGroup(mine ? { ...emptyGroup(event.group), rotate: true } : { ...g, rotate: true });
    }
    await home.markSeen(msg.id);
    return {
      kind: "event",
      event: {
        id: msg.id, group: event.group.name, groupId: event.group.id, event: event.kind, user: event.user.name,
        ...(event.by ? { by: event.by.name } : {}), sentAt: msg.sentAt,
      },
    };
  }

  /** Stores a member's sender key from a distribution sent to me. Call under the lock. */
  private async takeSenderKey(msg: InboxMessage, payload: Extract<Payload, { type: "sender-key" }>): Promise<void> {
    const { home, p } = this.deps;
    const g = (await home.readGroup(payload.group.id)) ?? emptyGroup(payload.group);
    try {
      const distribution = fromBase64url(payload.distribution);
      const stored = g.inbound[msg.from];
      let keys: InboundSenderKeys;
      if (stored === undefined) {
        keys = await InboundSenderKeys.fromDistribution(p, distribution);
        if (keys.groupId !== payload.group.id) throw new CryptoError("MALFORMED");
      } else {
        keys = InboundSenderKeys.fromJSON(p, stored);
        await keys.add(distribution);
      }
      await home.writeGroup({ ...g, inbound: { ...g.inbound, [msg.from]: keys.toJSON() } });
    } catch (err) {
      if (!(err instanceof CryptoError)) throw err;
      this.deps.notice({ kind: "unsupported", user: msg.fromName, id: msg.id });
    }
  }

  /**
   * A decrypted text or file, marked seen. A file is also kept as pending until its
   * download settles, so a delivery that comes again before then is handed out again.
   */
  private async shown(msg: InboxMessage, payload: Payload | undefined, newSession: boolean, group?: string): Promise<Incoming> {
    const { home } = this.deps;
    if (msg.from in (await home.readBlocks())) {
      // Blocked: opened (so the sessions stay in step) but never shown, and acked.
      await home.markSeen(msg.id);
      return { kind: "dropped", newSession };
    }
    if (!payload || payload.type === "sender-key") {
      await home.markSeen(msg.id);
      this.deps.notice({ kind: "unsupported", user: msg.fromName, id: msg.id });
      return { kind: "dropped", newSession };
    }
    const { profileKey: _, ...content } = payload;
    const message: ShownMessage = { id: msg.id, from: msg.fromName, fromId: msg.from, ...(group ? { group } : {}), sentAt: payload.sentAt, content };
    if (payload.type === "file") {
      const pending = await home.readPendingFiles();
      pending[msg.id] = { id: msg.id, from: msg.fromName, fromId: msg.from, ...(group ? { group } : {}), sentAt: payload.sentAt, file: payload.file };
      await home.writePendingFiles(pending);
    }
    await home.markSeen(msg.id);
    return { kind: "message", newSession, message };
  }

  /**
   * Tops up the one-time prekeys on the server when fewer than PREKEY_LOW_WATER remain
   * (the server's count; this device's own when the server will not say).
   */
  async refillPrekeys(): Promise<number | undefined> {
    const { home, edge, p } = this.deps;
    let remaining: number;
    try {
      remaining = await edge.prekeys([]);
    } catch (err) {
      if (err instanceof CliError && err.code === "CONNECTION_LOST") throw err;
      remaining = (await DeviceIdentity.fromJSON(p, (await this.account()).device)).oneTimePrekeyCount();
    }
    if (remaining >= PREKEY_LOW_WATER) return undefined;
    const fresh = await home.withLock(async () => {
      const account = await this.account();
      const device = await DeviceIdentity.fromJSON(p, account.device);
      const added = await device.generateOneTimePrekeys(PREKEY_REFILL);
      await home.writeAccount({ ...account, device: device.toJSON() });
      return added;
    });
    return edge.prekeys(fresh);
  }

  /** The safety number with `user` from both identity keys as the server has them now. */
  async safetyNumber(user: string): Promise<{ user: string; userId: string; safetyNumber: string }> {
    const { home, edge, p } = this.deps;
    const name = parseName(user);
    const them = await edge.lookup(name);
    const me = await this.account();
    const device = await DeviceIdentity.fromJSON(p, me.device);
    await home.withLock(() => this.rememberContact(them.userId, them.username, them.identityKey));
    const number = await safetyNumber(p, { userId: me.userId, identityKey: device.identityKey }, { userId: them.userId, identityKey: them.identityKey });
    return { user: them.username, userId: them.userId, safetyNumber: number };
  }

  /** My profile key, made (and kept in the home) the first time it is needed. */
  async profileKey(): Promise<Uint8Array> {
    const { home, p } = this.deps;
    const stored = (await this.account()).profileKey;
    if (stored !== undefined) return fromBase64url(stored);
    return home.withLock(async () => {
      const account = await this.account();
      if (account.profileKey !== undefined) return fromBase64url(account.profileKey);
      const key = generateProfileKey(p);
      await home.writeAccount({ ...account, profileKey: toBase64url(key) });
      return key;
    });
  }

  private async account(): Promise<AccountFile> {
    const account = await this.deps.home.readAccount();
    if (!account) throw new CliError("NOT_LOGGED_IN");
    return account;
  }

  private async loadSessions(userId: string): Promise<Session[]> {
    const stored = await this.deps.home.readPeerSessions(userId);
    return stored.map((json) => Session.fromJSON(this.deps.p, json));
  }

  private saveSessions(userId: string, sessions: Session[]): Promise<void> {
    return this.deps.home.writePeerSessions(userId, sessions.slice(0, SESSIONS_PER_PEER).map((s) => s.toJSON()));
  }

  /** Trust on first use; a different key later is stored and the user warned. Call under the lock. */
  private async rememberContact(userId: string, username: string, identityKey: string): Promise<void> {
    const contacts = await this.deps.home.readContacts();
    const known = contacts[userId];
    if (known && known.identityKey === identityKey && known.username === username) return;
    if (known && known.identityKey !== identityKey) this.deps.notice({ kind: "identity-changed", user: username });
    contacts[userId] = {
      username, identityKey, firstSeen: known?.identityKey === identityKey ? known.firstSeen : this.deps.now(),
      ...(known?.profileKey === undefined ? {} : { profileKey: known.profileKey }),
    };
    await this.deps.home.writeContacts(contacts);
  }

  /** Keeps the profile key a contact sent (the newest wins). Call under the lock, after rememberContact. */
  private async rememberProfileKey(userId: string, profileKey: string): Promise<void> {
    const contacts = await this.deps.home.readContacts();
    const known = contacts[userId];
    if (!known || known.profileKey === profileKey) return;
    contacts[userId] = { ...known, profileKey };
    await this.deps.home.writeContacts(contacts);
  }
}

function parseName(user: string): string {
  const result = Name.safeParse(user);
  if (!result.success) throw new CliError("INVALID_USERNAME");
  return result.data;
}

export function parseGroupName(name: string): string {
  const result = Name.safeParse(name.replace(/^#/, ""));
  if (!result.success) throw new CliError("INVALID_GROUP_NAME");
  return result.data;
}

function emptyGroup(group: { id: string; name: string }): GroupFile {
  return { v: 1, id: group.id, name: group.name, sentTo: {}, rotate: false, inbound: {} };
}

function findByName(contacts: Record<string, Contact>, name: string): { userId: string; username: string } | undefined {
  for (const [userId, c] of Object.entries(contacts)) if (c.username === name) return { userId, username: c.username };
  return undefined;
}

async function wrapCrypto<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof CryptoError) throw new CliError("INVALID_BUNDLE", undefined, { cause: err });
    throw err;
  }
}
