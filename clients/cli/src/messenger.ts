import { CryptoError, DeviceIdentity, Session, safetyNumber, type Primitives, type PrekeyBundle, type SignedPrekey } from "@natter/crypto";
import { MAX_MESSAGE_BODY, Name, type InboxMessage } from "@natter/protocol";
import { CliError } from "./errors.ts";
import type { AccountFile, Contact, HomeStore } from "./home-store.ts";
import { decodePayload, encodePayload } from "./payload.ts";

/** The edge requests the messenger needs; the link implements them over frames, tests in memory. */
export interface EdgeApi {
  claim(user: string): Promise<{ userId: string; username: string; bundle: PrekeyBundle }>;
  lookup(user: string): Promise<{ userId: string; username: string; identityKey: string }>;
  send(msg: { id: string; to: string; body: Uint8Array }): Promise<void>;
  /** Adds one-time prekeys (`replace` drops the unused ones first); returns how many the server holds. */
  prekeys(add: SignedPrekey[], replace?: boolean): Promise<number>;
}

/** Things worth telling the user that are not failures. */
export type Notice =
  | { kind: "identity-changed"; user: string }
  | { kind: "undecryptable"; user: string; id: string }
  | { kind: "unsupported"; user: string; id: string };

export interface MessengerDeps {
  p: Primitives;
  home: HomeStore;
  edge: EdgeApi;
  now(): number;
  /** A fresh message id (uuid v7). */
  newId(): string;
  notice(n: Notice): void;
}

/** A message ready to show. */
export interface ShownMessage {
  id: string;
  from: string;
  fromId: string;
  text: string;
  sentAt: number;
}

export type Incoming =
  | { kind: "message"; message: ShownMessage; newSession: boolean }
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
  async send(user: string, text: string): Promise<{ id: string; to: string; userId: string }> {
    const { home, edge, p } = this.deps;
    const name = parseName(user);
    const me = await this.account();
    if (name === me.username) throw new CliError("SELF");
    const plaintext = encodePayload({ type: "text", text, sentAt: this.deps.now() });
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
   * Decrypts one delivery and stores what changed (sessions, device, contact, shown id).
   * The caller shows a `message`, then acks; `duplicate` and `dropped` are acked unshown
   * (a message that does not decrypt now never will). Errors of the home are thrown, so
   * the delivery is not acked and comes again.
   */
  async receive(msg: InboxMessage): Promise<Incoming> {
    const { home, p } = this.deps;
    const outcome = await home.withLock(async (): Promise<Incoming> => {
      if (await home.hasSeen(msg.id)) return { kind: "duplicate" };
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
      await home.markSeen(msg.id);
      const payload = decodePayload(plaintext);
      if (!payload) {
        this.deps.notice({ kind: "unsupported", user: msg.fromName, id: msg.id });
        return { kind: "dropped", newSession };
      }
      return { kind: "message", newSession, message: { id: msg.id, from: msg.fromName, fromId: msg.from, text: payload.text, sentAt: payload.sentAt } };
    });
    return outcome;
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
    contacts[userId] = { username, identityKey, firstSeen: known?.identityKey === identityKey ? known.firstSeen : this.deps.now() };
    await this.deps.home.writeContacts(contacts);
  }
}

function parseName(user: string): string {
  const result = Name.safeParse(user);
  if (!result.success) throw new CliError("INVALID_USERNAME");
  return result.data;
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
