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
  /** Where to send a client that says hello now, if elsewhere (a less loaded or not draining edge). */
  readonly redirect: () => string | undefined;
  readonly auth: ServiceCall<typeof AuthApi>;
  readonly bus: SessionBus;
  readonly tokens: TokenVerifier;
  readonly sessions: SessionCheck;
  readonly presence: PresenceReport;
}

/** What the session handlers keep on a connection, and ask of it. */
export interface SessionClient extends Client {
  identity: Identity | undefined;
  membership: SessionMembership | undefined;
  greet(): void;
  loggedIn(): void;
}

/**
 * Who is on a connection: the handshake (with its redirect), register, password login
 * (refused while the account is connected elsewhere, unless it takes over), resume with a
 * token, refresh and logout, and being kicked by another connection of the account.
 */
export class SessionHandlers {
  constructor(private readonly ports: SessionPorts) {}

  hello(client: SessionClient, frame: ClientFrameOf<"hello">): void {
    if (frame.v !== PROTOCOL_VERSION) throw new NatterError("VERSION_MISMATCH");
    const elsewhere = frame.redirected ? undefined : this.ports.redirect();
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

  async register(client: SessionClient, frame: ClientFrameOf<"register">): Promise<void> {
    requireAnonymous(client);
    const grant = await this.ports.auth("register", {
      username: frame.username, password: frame.password, bundle: frame.bundle, backup: frame.backup, addr: client.address,
    });
    this.authenticate(client, grant);
    client.push({ t: "session", id: frame.id, ...publicGrant(grant) });
  }

  async login(client: SessionClient, frame: ClientFrameOf<"login">): Promise<void> {
    requireAnonymous(client);
    const grant = await this.ports.auth("login", { username: frame.username, password: frame.password, addr: client.address });
    // Checked only after the password, so presence is not revealed to strangers.
    if (await this.ports.bus.isConnected(grant.userId)) {
      if (!frame.takeover) {
        await this.ports.auth("logout", { sid: grant.sid }).catch(() => undefined);
        throw new NatterError("ALREADY_CONNECTED");
      }
      this.ports.bus.kick(grant.userId, { except: client.id, reason: "takeover" });
    }
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
    const grant = await this.ports.auth("refresh", { refresh: frame.refresh });
    if (client.identity && client.identity.userId !== grant.userId) throw new NatterError("ALREADY_AUTHENTICATED");
    if (!client.identity) this.authenticate(client, grant);
    client.push({ t: "session", id: frame.id, ...publicGrant(grant) });
  }

  async logout(client: SessionClient, frame: ClientFrameOf<"logout">, me: Identity): Promise<void> {
    await this.ports.auth("logout", { sid: me.sid });
    this.ports.bus.kick(me.userId, { sid: me.sid, except: client.id, reason: "logout" });
    client.push({ t: "ok", id: frame.id });
    client.close({ graceful: true });
  }

  /** The connection closed: it leaves the session bus and presence. */
  closed(client: SessionClient): void {
    client.membership?.leave();
    if (client.identity) this.ports.presence.disconnected(client.identity);
  }

  private authenticate(client: SessionClient, identity: Identity): void {
    const me = { userId: identity.userId, username: identity.username, sid: identity.sid };
    client.identity = me;
    client.loggedIn();
    client.membership = this.ports.bus.join(me, client.id, (reason) => void this.kicked(client, reason));
    this.ports.presence.connected(me);
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
