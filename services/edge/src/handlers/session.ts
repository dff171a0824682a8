import { NatterError, PROTOCOL_VERSION, type AuthApi, type ClientFrameOf, type SessionGrant } from "@natter/protocol";
import type { ServiceCall } from "@natter/kit";
import type { Client } from "../frame-connection.ts";
import type { Identity, PresenceReport, SessionBus, SessionCheck, SessionMembership, TokenVerifier } from "../domain/ports.ts";

/** What the session handlers need of their edge. */
export interface SessionPorts {
  /** This edge's name among the live edges (known once it listens). */
  readonly edgeName: string;
  readonly maxFrame: number;
  /** Largest file accepted (ciphertext bytes), and the chunk size clients are told to use. */
  readonly maxFile: number;
  readonly chunkSize: number;
  /** Where to send a client that says hello now, if elsewhere: a less loaded edge, or any when this one drains (`back`: it is coming back after losing its connection). */
  readonly redirect: (back: boolean) => string | undefined;
  readonly auth: ServiceCall<typeof AuthApi>;
  readonly bus: SessionBus;
  readonly tokens: TokenVerifier;
  readonly sessions: SessionCheck & Partial<SessionEnds>;
  readonly presence: PresenceReport;
}

/** Sessions auth ended (logout, takeover, revoke, a reused refresh token), as auth announces them. */
export interface SessionEnds {
  onEnded(listener: (sid: string) => void): void;
}

/** What the session handlers keep on a connection, and ask of it. */
export interface SessionClient extends Client {
  identity: Identity | undefined;
  membership: SessionMembership | undefined;
  greet(): void;
  loggedIn(): void;
}

/**
 * Who is on a connection: the handshake (with its redirect), the salt asked before
 * logging in, register, login with the secret derived from the password
 * (refused while the account is connected elsewhere, unless it takes over), resume with a
 * token, refresh, logout and password change, and being kicked by another connection of the account.
 */
export class SessionHandlers {
  /**
   * This edge's authenticated connections by session, to close when auth ends one: the
   * connection itself while it is its session's only one here (nearly always), a set once
   * there are more. A set for each connection cost about 150 bytes.
   */
  private readonly bySession = new Map<string, SessionClient | Set<SessionClient>>();

  constructor(private readonly ports: SessionPorts) {
    ports.sessions.onEnded?.((sid) => this.ended(sid));
  }

  hello(client: SessionClient, frame: ClientFrameOf<"hello">): void {
    if (frame.v !== PROTOCOL_VERSION) throw new NatterError("VERSION_MISMATCH");
    const elsewhere = frame.redirected ? undefined : this.ports.redirect(frame.back === true);
    if (elsewhere) {
      client.push({ t: "redirect", to: elsewhere });
      client.close({ graceful: true });
      return;
    }
    client.greet();
    client.push({
      t: "welcome", v: PROTOCOL_VERSION, edge: this.ports.edgeName, maxFrame: this.ports.maxFrame,
      maxFile: this.ports.maxFile, chunkSize: this.ports.chunkSize,
    });
  }

  /** The salt to stretch a password under, asked before register and login (so also anonymously). */
  async salt(client: SessionClient, frame: ClientFrameOf<"salt">): Promise<void> {
    const { salt } = await this.ports.auth("salt", { username: frame.username });
    client.push({ t: "salt", id: frame.id, salt });
  }

  async register(client: SessionClient, frame: ClientFrameOf<"register">): Promise<void> {
    requireAnonymous(client);
    const grant = await this.ports.auth("register", {
      username: frame.username, salt: frame.salt, secret: frame.secret, bundle: frame.bundle, backup: frame.backup, addr: client.address,
    });
    this.authenticate(client, grant);
    client.push({ t: "session", id: frame.id, ...publicGrant(grant) });
  }

  async login(client: SessionClient, frame: ClientFrameOf<"login">): Promise<void> {
    requireAnonymous(client);
    const grant = await this.ports.auth("login", { username: frame.username, secret: frame.secret, addr: client.address });
    // Checked only after the password, so presence is not revealed to strangers.
    if (await this.ports.bus.isConnected(grant.userId)) {
      if (!frame.takeover) {
        await this.ports.auth("logout", { sid: grant.sid }).catch(() => undefined);
        throw new NatterError("ALREADY_CONNECTED");
      }
      this.ports.bus.kick(grant.userId, { except: client.id, reason: "takeover" });
    }
    // Every other session ends, connected or not: a laptop asleep with a refresh token too.
    if (frame.takeover) await this.ports.auth("revoke", { userId: grant.userId, except: grant.sid });
    this.authenticate(client, grant);
    client.push({ t: "session", id: frame.id, ...publicGrant(grant) });
  }

  async resume(client: SessionClient, frame: ClientFrameOf<"resume">): Promise<void> {
    requireAnonymous(client);
    const identity = await this.ports.tokens.verify(frame.token);
    if (!(await this.ports.sessions.isActive(identity.sid))) throw new NatterError("SESSION_ENDED");
    this.authenticate(client, identity);
    client.push({ t: "resumed", id: frame.id, userId: identity.userId, username: identity.username });
  }

  async refresh(client: SessionClient, frame: ClientFrameOf<"refresh">): Promise<void> {
    const grant = await this.ports.auth("refresh", { refresh: frame.refresh, addr: client.address });
    if (client.identity && client.identity.userId !== grant.userId) throw new NatterError("ALREADY_AUTHENTICATED");
    if (!client.identity) this.authenticate(client, grant);
    client.push({ t: "session", id: frame.id, ...publicGrant(grant) });
  }

  async logout(client: SessionClient, frame: ClientFrameOf<"logout">, me: Identity): Promise<void> {
    // Its own session's end is announced before auth answers: the answer must still reach it.
    this.untrack(client);
    await this.ports.auth("logout", { sid: me.sid });
    this.ports.bus.kick(me.userId, { sid: me.sid, except: client.id, reason: "logout" });
    client.push({ t: "ok", id: frame.id });
    client.close({ graceful: true });
  }

  /** A new password: auth ends the account's other sessions, and their connections here and on other edges close. */
  async passwd(client: SessionClient, frame: ClientFrameOf<"passwd">, me: Identity): Promise<void> {
    const { ended } = await this.ports.auth("passwd", {
      userId: me.userId, sid: me.sid, secret: frame.secret, salt: frame.salt, newSecret: frame.newSecret, backup: frame.backup, addr: client.address,
    });
    for (const sid of ended) this.ports.bus.kick(me.userId, { sid, except: client.id, reason: "logout" });
    client.push({ t: "ok", id: frame.id });
  }

  /** The connection closed: it leaves the session bus and presence. */
  closed(client: SessionClient): void {
    this.untrack(client);
    client.membership?.leave();
    if (client.identity) this.ports.presence.disconnected(client.identity);
  }

  private authenticate(client: SessionClient, identity: Identity): void {
    const me = { userId: identity.userId, username: identity.username, sid: identity.sid };
    client.identity = me;
    const local = this.bySession.get(me.sid);
    if (local === undefined) this.bySession.set(me.sid, client);
    else if (local instanceof Set) local.add(client);
    else if (local !== client) this.bySession.set(me.sid, new Set([local, client]));
    client.loggedIn();
    client.membership = this.ports.bus.join(me, client.id, (reason) => void this.kicked(client, reason));
    this.ports.presence.connected(me);
  }

  /** Auth ended a session: its connections here close (the client logs in again). */
  private ended(sid: string): void {
    const local = this.bySession.get(sid);
    if (!local) return;
    this.bySession.delete(sid);
    for (const client of local instanceof Set ? local : [local]) {
      client.push({ t: "event", kind: "kicked", message: "this session was ended" });
      client.close({ graceful: true });
    }
  }

  private untrack(client: SessionClient): void {
    const sid = client.identity?.sid;
    const local = sid === undefined ? undefined : this.bySession.get(sid);
    if (local === client || (local instanceof Set && local.delete(client) && local.size === 0)) this.bySession.delete(sid!);
  }

  /** Another login took the account over, or the session logged out: end this session before the socket. */
  private async kicked(client: SessionClient, reason: "takeover" | "logout"): Promise<void> {
    const message = reason === "takeover" ? "this account logged in elsewhere" : "this session was logged out";
    client.push({ t: "event", kind: "kicked", message });
    if (reason === "takeover" && client.identity) {
      // Revoked before the socket closes, so a reconnect cannot resume the old session.
      await this.ports.auth("logout", { sid: client.identity.sid }).catch(() => undefined);
    }
    client.close({ graceful: true });
  }
}

function requireAnonymous(client: SessionClient): void {
  if (client.identity) throw new NatterError("ALREADY_AUTHENTICATED");
}

/** The grant as the client may see it: everything but the session id. */
function publicGrant(grant: SessionGrant) {
  return { userId: grant.userId, username: grant.username, token: grant.token, refresh: grant.refresh, expiresAt: grant.expiresAt };
}
