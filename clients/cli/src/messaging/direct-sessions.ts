import { CryptoError, DeviceIdentity, Session, safetyNumber, toBase64url, type Primitives } from "@natter/crypto";
import { PAYLOAD_VERSION, assert, decodePayload, encodePayload, type InboxMessage, type Payload } from "@natter/protocol";
import { CliError } from "../errors.ts";
import type { HomeStore } from "../home-store.ts";
import type { LockedHome } from "../locked-home.ts";
import type { DirectBody } from "./content.ts";
import type { Contacts } from "./contacts.ts";
import type { ClaimedBundle, EdgeApi } from "./edge-api.ts";
import type { Incoming } from "./incoming.ts";
import { parseUserName } from "./names.ts";
import type { Notice } from "./notice.ts";
import { checkPlaintextSize } from "./plaintext-size.ts";

/** Kept per peer: the active session and the ones it replaced, tried in turn (simultaneous initiation). */
const SESSIONS_PER_PEER = 3;
/** Below this many one-time prekeys on the server, upload `PREKEY_REFILL` more. */
export const PREKEY_LOW_WATER = 20;
export const PREKEY_REFILL = 50;

export interface DirectSessionsDeps {
  p: Primitives;
  home: HomeStore;
  edge: EdgeApi;
  contacts: Contacts;
  /** A fresh message id (uuid v7). */
  newId(): string;
  notice(n: Notice): void;
}

/** A 1:1 message that opened: its payload (undefined when this version cannot read it). */
export interface OpenedDirect {
  kind: "opened";
  payload: Payload | undefined;
  /** It started a session (and so spent one of my one-time prekeys). */
  newSession: boolean;
}

/**
 * 1:1 messaging over Double Ratchet sessions: starting a session from a claimed prekey
 * bundle, encrypting for a peer and opening what a peer sent, keeping my one-time prekeys
 * topped up on the server, and the safety number with a peer.
 */
export class DirectSessions {
  constructor(private readonly deps: DirectSessionsDeps) {}

  /**
   * Encrypts `body` for `user` over the 1:1 session, with my profile key inside so the
   * contact can read my profile, and sends it. With no session yet, a prekey bundle is
   * claimed (outside the home lock) and the session started from it.
   */
  async send(user: string, body: DirectBody): Promise<{ id: string; to: string; userId: string }> {
    const name = parseUserName(user);
    const msg = (await this.seal(name, body)) ?? (await this.seal(name, body, await this.deps.edge.claim(name)));
    assert(msg, "a claimed bundle always starts a session");
    await this.deps.edge.send(msg);
    return { id: msg.id, to: name, userId: msg.to };
  }

  /**
   * Encrypts under the home lock with the peer's active session and stores it advanced;
   * undefined when there is no session and no bundle to start one with.
   */
  private seal(name: string, body: DirectBody, claimed?: ClaimedBundle): Promise<{ id: string; to: string; body: Uint8Array } | undefined> {
    const { home, p, contacts } = this.deps;
    return home.withLock(async (locked) => {
      const me = await locked.loggedIn();
      if (name === me.username) throw new CliError("SELF");
      const plaintext = encodePayload({ v: PAYLOAD_VERSION, ...body, profileKey: toBase64url(await contacts.myProfileKey(locked)) });
      checkPlaintextSize(plaintext);
      const peer = claimed ?? (await contacts.byName(locked, name));
      if (!peer) return undefined;
      const sessions = await this.loadSessions(locked, peer.userId);
      let session = sessions[0];
      if (!session) {
        if (!claimed) return undefined;
        const device = await DeviceIdentity.fromJSON(p, me.device);
        session = await wrapCrypto(() => Session.initiate(p, device, claimed.bundle));
        sessions.unshift(session);
        await contacts.remember(locked, peer.userId, claimed.username, session.remoteIdentityKey);
      }
      const sealed = await session.encrypt(plaintext);
      await this.saveSessions(locked, peer.userId, sessions);
      return { id: this.deps.newId(), to: peer.userId, body: sealed };
    });
  }

  /**
   * Opens a 1:1 message with the sessions with its sender, or a new session when it starts
   * one, and stores what changed (sessions, device, contact, their profile key). A message
   * already opened is a `duplicate`; one that does not open is `dropped` with a notice.
   * Call under the lock.
   */
  async open(home: LockedHome, msg: InboxMessage): Promise<OpenedDirect | Incoming> {
    const { p, contacts } = this.deps;
    const sessions = await this.loadSessions(home, msg.from);
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
      const account = await home.loggedIn();
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
    await contacts.remember(home, msg.from, msg.fromName, sessions[0]!.remoteIdentityKey);
    await this.saveSessions(home, msg.from, sessions);
    const payload = decodePayload(plaintext);
    if (payload?.profileKey !== undefined) await contacts.rememberProfileKey(home, msg.from, payload.profileKey);
    return { kind: "opened", payload, newSession };
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
      remaining = (await DeviceIdentity.fromJSON(p, (await home.loggedIn()).device)).oneTimePrekeyCount();
    }
    if (remaining >= PREKEY_LOW_WATER) return undefined;
    const fresh = await home.withLock(async (locked) => {
      const account = await locked.loggedIn();
      const device = await DeviceIdentity.fromJSON(p, account.device);
      const added = await device.generateOneTimePrekeys(PREKEY_REFILL);
      await locked.writeAccount({ ...account, device: device.toJSON() });
      return added;
    });
    return edge.prekeys(fresh);
  }

  /** The safety number with `user` from both identity keys as the server has them now. */
  async safetyNumber(user: string): Promise<{ user: string; userId: string; safetyNumber: string }> {
    const { home, edge, p, contacts } = this.deps;
    const them = await edge.lookup(parseUserName(user));
    const me = await home.loggedIn();
    const device = await DeviceIdentity.fromJSON(p, me.device);
    await home.withLock((locked) => contacts.remember(locked, them.userId, them.username, them.identityKey));
    const number = await safetyNumber(p, { userId: me.userId, identityKey: device.identityKey }, { userId: them.userId, identityKey: them.identityKey });
    return { user: them.username, userId: them.userId, safetyNumber: number };
  }

  private async loadSessions(home: LockedHome, userId: string): Promise<Session[]> {
    return (await home.peerSessions(userId)).map((json) => Session.fromJSON(this.deps.p, json));
  }

  private saveSessions(home: LockedHome, userId: string, sessions: Session[]): Promise<void> {
    return home.writePeerSessions(userId, sessions.slice(0, SESSIONS_PER_PEER).map((s) => s.toJSON()));
  }
}

async function wrapCrypto<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof CryptoError) throw new CliError("INVALID_BUNDLE", undefined, { cause: err });
    throw err;
  }
}
