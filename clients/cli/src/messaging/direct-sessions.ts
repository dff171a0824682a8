import { CryptoError, DeviceIdentity, Session, safetyNumber, toBase64url, type Primitives } from "@natter/crypto";
import { PAYLOAD_VERSION, assert, decodePayload, encodePayload, type InboxMessage, type Payload } from "@natter/protocol";
import { CliError } from "../errors.ts";
import type { AccountFile, HomeStore } from "../home-store.ts";
import type { LockedHome } from "../locked-home.ts";
import type { DirectBody } from "./content.ts";
import { identityChanged, type Contacts, type ContactView, type SenderWarning, type TrustState } from "./contacts.ts";
import { resealBackup } from "../key-backup.ts";
import { publishKemLastResortPrekey, rotateSignedPrekeyIfDue } from "./signed-prekey-rotation.ts";
import type { ClaimedBundle, EdgeApi, PrekeyCounts } from "./edge-api.ts";
import type { Incoming } from "./incoming.ts";
import { parseUserName } from "./names.ts";
import type { Notice } from "./notice.ts";
import { checkPlaintextSize } from "./plaintext-size.ts";

/** Kept per peer: the active session and the ones it replaced, tried in turn (simultaneous initiation). */
const SESSIONS_PER_PEER = 3;
/** Below this many one-time prekeys of a kind (curve or KEM) on the server, upload `PREKEY_REFILL` more of it. */
export const PREKEY_LOW_WATER = 20;
export const PREKEY_REFILL = 50;

export interface DirectSessionsDeps {
  p: Primitives;
  home: HomeStore;
  edge: EdgeApi;
  contacts: Contacts;
  now(): number;
  /** A fresh message id (uuid v7). */
  newId(): string;
  notice(n: Notice): void;
  /** How old the signed prekey may get before it is replaced (default SIGNED_PREKEY_MAX_AGE_MS). */
  signedPrekeyMaxAgeMs?: number;
}

/** A 1:1 message that opened: its payload (undefined when this version cannot read it). */
export interface OpenedDirect {
  kind: "opened";
  payload: Payload | undefined;
  /** It started a session (and so spent one of my one-time prekeys). */
  newSession: boolean;
  /** Its sender is not simply the pinned contact of that name. */
  warning?: SenderWarning;
}

/** The safety number with a contact, from the pinned key, and from the new key when one waits to be trusted. */
export interface SafetyNumberView {
  user: string;
  userId: string;
  state: TrustState;
  safetyNumber: string;
  newSafetyNumber?: string;
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
    const { home, contacts } = this.deps;
    return home.withLock(async (locked) => {
      const me = await locked.loggedIn();
      if (name === me.username) throw new CliError("SELF");
      const id = this.deps.newId();
      const plaintext = encodePayload({ v: PAYLOAD_VERSION, id, ...body, profileKey: toBase64url(await contacts.myProfileKey(locked)) });
      checkPlaintextSize(plaintext);
      const pinned = await contacts.byName(locked, name);
      if (pinned?.changed) throw identityChanged(pinned.username);
      // A claimed bundle is checked against the pins before any session with its id is used.
      const expected = claimed && (await contacts.expectedKey(locked, claimed.userId, claimed.username, claimed.bundle.identityKey));
      const peer = claimed ?? pinned;
      if (!peer) return undefined;
      const sessions = await this.loadSessions(locked, peer.userId);
      let session = sessions[0];
      if (!session) {
        if (!claimed) return undefined;
        session = await this.initiate(locked, me.device, claimed, expected);
        sessions.unshift(session);
        await contacts.observe(locked, claimed.userId, claimed.username, session.remoteIdentityKey);
      }
      const pin = pinned ?? (await contacts.byName(locked, name));
      if (!pin || pin.userId !== peer.userId || pin.identityKey !== session.remoteIdentityKey) throw identityChanged(name);
      const sealed = await session.encrypt(plaintext);
      await this.saveSessions(locked, peer.userId, sessions);
      return { id, to: peer.userId, body: sealed };
    });
  }

  /**
   * PQXDH from a claimed bundle, which must carry the pinned key when there is a pin (a
   * substitute is recorded and refused) and a KEM prekey (NO_KEM_PREKEY: never a session
   * a quantum computer could later open).
   */
  private async initiate(home: LockedHome, myDevice: unknown, claimed: ClaimedBundle, expectedIdentityKey: string | undefined): Promise<Session> {
    const { p, contacts } = this.deps;
    const device = await DeviceIdentity.fromJSON(p, myDevice);
    try {
      return await Session.initiate(p, device, claimed.bundle, expectedIdentityKey === undefined ? undefined : { expectedIdentityKey });
    } catch (err) {
      if (!(err instanceof CryptoError)) throw err;
      if (err.code === "IDENTITY_MISMATCH") return contacts.refuseSubstitute(home, claimed.userId, claimed.bundle.identityKey);
      if (err.code === "NO_KEM_PREKEY") throw new CliError("NO_KEM_PREKEY", undefined, { cause: err });
      throw new CliError("INVALID_BUNDLE", undefined, { cause: err });
    }
  }

  /**
   * Opens a 1:1 message with the sessions with its sender, or a new session when it starts
   * one, and stores what changed (sessions, device, contact, their profile key). A message
   * already opened is a `duplicate`: one the ratchet has seen, or one whose sealed id was
   * shown under another delivery id. One that does not open is `dropped` with a notice; so
   * is a first message whose base key started a session here before, when that session
   * no longer opens it. Call under the lock.
   */
  async open(home: LockedHome, msg: InboxMessage): Promise<OpenedDirect | Incoming> {
    const { contacts } = this.deps;
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
    const baseKey = plaintext === undefined && !duplicate ? Session.initialBaseKey(msg.body) : undefined;
    // A first message whose session was accepted before never starts another, however far
    // the ratchet has moved on: its session opens it, or nothing does.
    const replayed = baseKey !== undefined && (await this.deps.home.hasAcceptedBaseKey(baseKey));
    const accepted = baseKey !== undefined && !replayed ? await this.accept(home, msg) : undefined;
    if (accepted) {
      plaintext = accepted.plaintext;
      sessions.unshift(accepted.session);
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
    const payload = decodePayload(plaintext);
    if (payload && payload.id !== msg.id && (await home.hasSeen(payload.id))) {
      // The same ciphertext again under a fresh delivery id: nothing of it is kept.
      await home.markSeen(msg.id);
      return { kind: "duplicate" };
    }
    if (accepted) {
      await home.writeAccount(accepted.account);
      await this.deps.home.rememberBaseKey(baseKey!);
    }
    const remoteKey = sessions[0]!.remoteIdentityKey;
    const warning = await contacts.observe(home, msg.from, msg.fromName, remoteKey);
    await this.saveSessions(home, msg.from, sessions);
    if (payload?.profileKey !== undefined) await contacts.rememberProfileKey(home, msg.from, remoteKey, payload.profileKey);
    return { kind: "opened", payload, newSession: accepted !== undefined, ...(warning ? { warning } : {}) };
  }

  /**
   * Accepts a first message: with the pinned key as the one expected; from another key it
   * is still opened (and shown with a warning), the change recorded for the user to judge.
   * Nothing is stored here; undefined when it does not open.
   */
  private async accept(home: LockedHome, msg: InboxMessage): Promise<{ session: Session; plaintext: Uint8Array; account: AccountFile } | undefined> {
    const { p } = this.deps;
    const account = await home.loggedIn();
    const device = await DeviceIdentity.fromJSON(p, account.device);
    const pinned = (await home.contacts())[msg.from]?.identityKey;
    const attempt = (opts?: { expectedIdentityKey: string }) => Session.accept(p, device, msg.body, opts);
    try {
      let opened;
      try {
        opened = await attempt(pinned === undefined ? undefined : { expectedIdentityKey: pinned });
      } catch (err) {
        if (!(err instanceof CryptoError) || err.code !== "IDENTITY_MISMATCH") throw err;
        opened = await attempt();
      }
      return { ...opened, account: { ...account, device: device.toJSON() } };
    } catch (err) {
      if (!(err instanceof CryptoError)) throw err;
      return undefined;
    }
  }

  /**
   * Rotates the signed prekey (and the last-resort KEM prekey with it) when it is due,
   * publishes the last-resort KEM prekey when the server holds none (a home made before
   * PQXDH), and tops up each kind of one-time prekey, curve and KEM, on the server when
   * fewer than PREKEY_LOW_WATER of it remain (the server's count; this device's own when the
   * server will not say); the key backup is sealed again after any of these. Answers how
   * many one-time curve prekeys the server holds after a top-up, undefined when none was needed.
   */
  async refillPrekeys(): Promise<number | undefined> {
    const { home, edge, p } = this.deps;
    await rotateSignedPrekeyIfDue({ p, home, edge }, this.deps.now(), this.deps.signedPrekeyMaxAgeMs);
    let remaining: PrekeyCounts;
    try {
      remaining = await edge.prekeys([]);
    } catch (err) {
      if (err instanceof CliError && err.code === "CONNECTION_LOST") throw err;
      const device = await DeviceIdentity.fromJSON(p, (await home.loggedIn()).device);
      remaining = { count: device.oneTimePrekeyCount(), kemCount: device.kemOneTimePrekeyCount(), kemLastResort: device.kemLastResortPrekey() !== null };
    }
    if (!remaining.kemLastResort) await publishKemLastResortPrekey({ p, home, edge });
    const curve = remaining.count < PREKEY_LOW_WATER ? PREKEY_REFILL : 0;
    const kem = remaining.kemCount < PREKEY_LOW_WATER ? PREKEY_REFILL : 0;
    if (curve === 0 && kem === 0) return undefined;
    const fresh = await home.withLock(async (locked) => {
      const account = await locked.loggedIn();
      const device = await DeviceIdentity.fromJSON(p, account.device);
      const added = { curve: await device.generateOneTimePrekeys(curve), kem: await device.addKemPrekeys(kem) };
      const updated = { ...account, device: device.toJSON() };
      await locked.writeAccount(updated);
      // The server's backup follows: a restore must find the private halves of what we upload.
      await resealBackup(p, updated, (backup) => edge.putBackup(backup));
      return added;
    });
    return (await edge.prekeys(fresh.curve, false, fresh.kem)).count;
  }

  /**
   * The safety number with `user` from the key pinned for them, which every session with
   * them uses. The key the server has now is checked against the pin first (pinned at
   * first contact; a different one is held as a change, whose number is shown beside).
   */
  async safetyNumber(user: string): Promise<SafetyNumberView> {
    const { home, edge, contacts } = this.deps;
    const them = await edge.lookup(parseUserName(user));
    const pin = await home.withLock(async (locked) => {
      await contacts.observe(locked, them.userId, them.username, them.identityKey);
      return contacts.byName(locked, them.username);
    });
    if (!pin) throw new CliError("NOT_A_CONTACT");
    return this.numbers(pin);
  }

  /**
   * Accepts the identity key (and account) seen for `user` since the pin, after which
   * sending to them works again; the sessions with any other key are ended. Returns the
   * safety numbers before and after (the same when nothing had changed).
   */
  async trust(user: string): Promise<{ user: string; userId: string; changed: boolean; before: string; after: string }> {
    const name = parseUserName(user);
    const { before, after } = await this.deps.home.withLock(async (locked) => {
      const accepted = await this.deps.contacts.accept(locked, name);
      if (accepted.before.changed) {
        const kept = (await this.loadSessions(locked, accepted.after.userId)).filter((s) => s.remoteIdentityKey === accepted.after.identityKey);
        await this.saveSessions(locked, accepted.after.userId, kept);
      }
      return accepted;
    });
    const [was, is] = await Promise.all([this.number(before.userId, before.identityKey), this.number(after.userId, after.identityKey)]);
    return { user: name, userId: after.userId, changed: before.changed !== undefined, before: was, after: is };
  }

  /** Records that the safety numbers with `user` were compared (IDENTITY_CHANGED while a change waits). */
  async markVerified(user: string): Promise<void> {
    const name = parseUserName(user);
    await this.deps.home.withLock((locked) => this.deps.contacts.markVerified(locked, name));
  }

  private async numbers(pin: ContactView): Promise<SafetyNumberView> {
    const safety = await this.number(pin.userId, pin.identityKey);
    const fresh = pin.changed && (await this.number(pin.changed.userId, pin.changed.identityKey));
    return { user: pin.username, userId: pin.userId, state: pin.state, safetyNumber: safety, ...(fresh ? { newSafetyNumber: fresh } : {}) };
  }

  private async number(userId: string, identityKey: string): Promise<string> {
    const { home, p } = this.deps;
    const me = await home.loggedIn();
    const device = await DeviceIdentity.fromJSON(p, me.device);
    return safetyNumber(p, { userId: me.userId, identityKey: device.identityKey }, { userId, identityKey });
  }

  private async loadSessions(home: LockedHome, userId: string): Promise<Session[]> {
    return (await home.peerSessions(userId)).map((json) => Session.fromJSON(this.deps.p, json));
  }

  private saveSessions(home: LockedHome, userId: string, sessions: Session[]): Promise<void> {
    return home.writePeerSessions(userId, sessions.slice(0, SESSIONS_PER_PEER).map((s) => s.toJSON()));
  }
}
