import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { NatterError, PROTOCOL_VERSION, type AuthApi, type SessionGrant } from "@natter/protocol";
import { ALICE, BOB, FakeBus, FakeClient, FakeService, FakeSessions, FakeTokens, RecordingPresence } from "../../test/fakes.ts";
import { SessionHandlers } from "./session.ts";

const SALT = "dGVzdC1zYWx0LXRlc3Qtcw";
const SECRET = "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE";

const grantFor = (who: typeof ALICE): SessionGrant => ({ ...who, token: `token-${who.username}`, refresh: `refresh-${who.username}`, expiresAt: 1234 });
const publicGrant = (who: typeof ALICE) => ({ userId: who.userId, username: who.username, token: `token-${who.username}`, refresh: `refresh-${who.username}`, expiresAt: 1234 });
const loginFrame = (id: number) => ({ t: "login" as const, id, username: "alice", secret: "login-secret-".padEnd(43, "x") });
const refused = (code: string) => (error: unknown) => error instanceof NatterError && error.code === code;
const bundle = {
  v: 1 as const, identityKey: "ik", identityDhKey: "dh", identityDhSignature: "sig",
  signedPrekey: { id: 1, publicKey: "spk", signature: "sig" }, oneTimePrekeys: [],
};

function setup(options: { redirect?: string | ((back: boolean) => string | undefined) } = {}) {
  const auth = new FakeService<typeof AuthApi>()
    .answer("register", () => grantFor(ALICE))
    .answer("login", () => grantFor(ALICE))
    .answer("logout", () => ({}))
    .answer("revoke", () => ({ ended: [] }));
  const bus = new FakeBus();
  const tokens = new FakeTokens();
  // Auth's announcements of ended sessions, as the edge's session cache hears them.
  const announced: Array<(sid: string) => void> = [];
  const sessions = Object.assign(new FakeSessions(), { onEnded: (listener: (sid: string) => void) => void announced.push(listener) });
  const presence = new RecordingPresence();
  const handlers = new SessionHandlers({
    edgeName: "edge-a", maxFrame: 4096, maxFile: 10_000, chunkSize: 1024,
    redirect: typeof options.redirect === "function" ? options.redirect : () => options.redirect as string | undefined, auth: auth.call, bus, tokens, sessions, presence,
  });
  const announce = (sid: string) => announced.forEach((listener) => listener(sid));
  return { handlers, auth, bus, tokens, sessions, presence, announce, client: new FakeClient() };
}

describe("session handlers", () => {
  describe("hello", () => {
    it("refuses another protocol version", () => {
      const { handlers, client } = setup();
      assert.throws(() => handlers.hello(client, { t: "hello", v: PROTOCOL_VERSION + 1 }), refused("VERSION_MISMATCH"));
      assert.equal(client.greeted, false);
      assert.deepEqual(client.pushed, []);
    });

    it("welcomes with the edge's name and limits", () => {
      const { handlers, client } = setup();
      handlers.hello(client, { t: "hello", v: PROTOCOL_VERSION });
      assert.equal(client.greeted, true);
      assert.deepEqual(client.pushed, [{ t: "welcome", v: PROTOCOL_VERSION, edge: "edge-a", maxFrame: 4096, maxFile: 10_000, chunkSize: 1024 }]);
    });

    it("sends a client to a less loaded edge and closes gracefully, unless it was sent here", () => {
      const sent = setup({ redirect: "127.0.0.1:7401" });
      sent.handlers.hello(sent.client, { t: "hello", v: PROTOCOL_VERSION });
      assert.deepEqual(sent.client.pushed, [{ t: "redirect", to: "127.0.0.1:7401" }]);
      assert.equal(sent.client.closedGracefully, true);
      assert.equal(sent.client.greeted, false);

      const kept = setup({ redirect: "127.0.0.1:7401" });
      kept.handlers.hello(kept.client, { t: "hello", v: PROTOCOL_VERSION, redirected: true });
      assert.equal(kept.client.pushed[0]?.t, "welcome");
      assert.equal(kept.client.closed, false);
    });

    it("tells the balancer when a client comes back with a session", () => {
      const asked: boolean[] = [];
      const { handlers, client } = setup({ redirect: (back) => (asked.push(back), undefined) });
      handlers.hello(client, { t: "hello", v: PROTOCOL_VERSION, back: true });
      handlers.hello(new FakeClient(), { t: "hello", v: PROTOCOL_VERSION });
      assert.deepEqual(asked, [true, false]);
      assert.equal(client.pushed[0]?.t, "welcome");
    });
  });

  it("registers from the connection's address and authenticates the connection", async () => {
    const { handlers, auth, bus, presence, client } = setup();
    await handlers.register(client, { t: "register", id: 7, username: "alice", salt: SALT, secret: SECRET, bundle, backup: "backup-blob-0000" });
    assert.deepEqual(auth.requests("register"), [{ username: "alice", salt: SALT, secret: SECRET, bundle, backup: "backup-blob-0000", addr: client.address }]);
    assert.deepEqual(client.pushed, [{ t: "session", id: 7, ...publicGrant(ALICE) }], "the session id stays on the server");
    assert.deepEqual(client.identity, ALICE);
    assert.equal(client.loginTimerStopped, true);
    assert.deepEqual(bus.joined.map((j) => [j.identity, j.connId]), [[ALICE, client.id]]);
    assert.deepEqual(presence.events, [["connected", "alice"]]);
  });

  it("refuses to register or log in on a connection that is authenticated already", async () => {
    const { handlers, auth, client } = setup();
    client.identity = BOB;
    await assert.rejects(handlers.register(client, { t: "register", id: 1, username: "alice", salt: SALT, secret: SECRET, bundle, backup: "backup-blob-0000" }), refused("ALREADY_AUTHENTICATED"));
    await assert.rejects(handlers.login(client, { t: "login", id: 2, username: "alice", secret: SECRET }), refused("ALREADY_AUTHENTICATED"));
    assert.deepEqual(auth.calls, []);
  });

  it("refuses a login while the account is connected elsewhere, and ends the session it just made", async () => {
    const { handlers, auth, bus, client } = setup();
    bus.connected.add(ALICE.userId);
    await assert.rejects(handlers.login(client, { t: "login", id: 3, username: "alice", secret: SECRET }), refused("ALREADY_CONNECTED"));
    assert.deepEqual(auth.requests("logout"), [{ sid: ALICE.sid }]);
    assert.equal(client.identity, undefined);
    assert.deepEqual(bus.kicks, []);
  });

  it("takes the account over when asked: the other connections are kicked, this one kept", async () => {
    const { handlers, bus, client } = setup();
    bus.connected.add(ALICE.userId);
    await handlers.login(client, { t: "login", id: 4, username: "alice", secret: SECRET, takeover: true });
    assert.deepEqual(bus.kicks, [{ userId: ALICE.userId, except: client.id, reason: "takeover" }]);
    assert.deepEqual(client.pushed, [{ t: "session", id: 4, ...publicGrant(ALICE) }]);
  });

  it("ends every other session of the account on a takeover, connected or not", async () => {
    const { handlers, auth, client } = setup();
    await handlers.login(client, { ...loginFrame(4), takeover: true });
    assert.deepEqual(auth.requests("revoke"), [{ userId: ALICE.userId, except: ALICE.sid }]);
  });

  it("closes this edge's connections of a session auth announces it ended, and no others", async () => {
    const { handlers, auth, announce, client } = setup();
    const other = new FakeClient();
    auth.answer("login", ({ username }) => grantFor(username === "bob" ? BOB : ALICE));
    await handlers.login(client, loginFrame(5));
    await handlers.login(other, { ...loginFrame(6), username: "bob" });
    announce("00000000-0000-4000-8000-00000000dead");
    announce(ALICE.sid);
    assert.deepEqual(client.frames("event"), [{ t: "event", kind: "kicked", message: "this session was ended" }]);
    assert.equal(client.closedGracefully, true);
    assert.equal(other.closed, false);
  });

  it("closes every connection here of a session auth ended, but none that closed before", async () => {
    const { handlers, tokens, announce } = setup();
    tokens.tokens.set("t-alice", ALICE);
    const [first, second, third, gone] = [new FakeClient(), new FakeClient(), new FakeClient(), new FakeClient()];
    for (const [i, client] of [first, second, gone, third].entries()) await handlers.resume(client, { t: "resume", id: i, token: "t-alice" });
    handlers.closed(gone);
    handlers.closed(first);
    announce(ALICE.sid);
    for (const client of [second, third]) {
      assert.deepEqual(client.frames("event"), [{ t: "event", kind: "kicked", message: "this session was ended" }]);
      assert.equal(client.closedGracefully, true);
    }
    assert.deepEqual([first, gone].map((client) => client.frames("event")), [[], []]);

    const alone = new FakeClient();
    await handlers.resume(alone, { t: "resume", id: 9, token: "t-alice" });
    handlers.closed(alone);
    announce(ALICE.sid);
    assert.deepEqual(alone.frames("event"), [], "a session's last connection here that closed is forgotten");
  });

  it("still answers a logout whose own end is announced first", async () => {
    const { handlers, announce, client } = setup();
    await handlers.login(client, loginFrame(6));
    const logout = handlers.logout(client, { t: "logout", id: 7 }, ALICE);
    announce(ALICE.sid);
    await logout;
    assert.deepEqual(client.pushed.filter((f) => f.t !== "session"), [{ t: "ok", id: 7 }]);
  });

  it("tells auth where a refresh comes from", async () => {
    const { handlers, auth, client } = setup();
    auth.answer("refresh", () => grantFor(ALICE));
    await handlers.refresh(client, { t: "refresh", id: 8, refresh: "refresh-alice" });
    assert.deepEqual(auth.requests("refresh"), [{ refresh: "refresh-alice", addr: client.address }]);
  });

  it("ends its session and closes when another login takes the account over", async () => {
    const { handlers, auth, bus, client } = setup();
    await handlers.login(client, { t: "login", id: 5, username: "alice", secret: SECRET });
    bus.joined[0]!.onKick("takeover");
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(client.frames("event"), [{ t: "event", kind: "kicked", message: "this account logged in elsewhere" }]);
    assert.deepEqual(auth.requests("logout"), [{ sid: ALICE.sid }], "revoked, so a reconnect cannot resume it");
    assert.equal(client.closedGracefully, true);
  });

  it("resumes an active session from its token, and refuses one that has ended", async () => {
    const { handlers, tokens, sessions, client } = setup();
    tokens.tokens.set("t-alice", ALICE);
    sessions.ended.add(ALICE.sid);
    await assert.rejects(handlers.resume(client, { t: "resume", id: 8, token: "t-alice" }), refused("SESSION_ENDED"));
    assert.equal(client.identity, undefined);
    await assert.rejects(handlers.resume(client, { t: "resume", id: 9, token: "forged" }), refused("TOKEN_INVALID"));

    sessions.ended.clear();
    await handlers.resume(client, { t: "resume", id: 10, token: "t-alice" });
    assert.deepEqual(client.pushed, [{ t: "resumed", id: 10, userId: ALICE.userId, username: "alice" }]);
    assert.deepEqual(client.identity, ALICE);
  });

  it("refreshes its own session, and refuses another user's refresh token", async () => {
    const { handlers, auth, client } = setup();
    auth.answer("refresh", ({ refresh }) => grantFor(refresh === "refresh-bob" ? BOB : ALICE));
    await handlers.refresh(client, { t: "refresh", id: 11, refresh: "refresh-alice" });
    assert.deepEqual(client.identity, ALICE, "an anonymous connection is authenticated by a refresh");
    await assert.rejects(handlers.refresh(client, { t: "refresh", id: 12, refresh: "refresh-bob" }), refused("ALREADY_AUTHENTICATED"));
    await handlers.refresh(client, { t: "refresh", id: 13, refresh: "refresh-alice" });
    assert.deepEqual(client.pushed.map((f) => f.t === "session" && [f.id, f.username]), [[11, "alice"], [13, "alice"]]);
    assert.deepEqual(client.identity, ALICE);
  });

  it("logs out: ends the session, closes its other connections and this one", async () => {
    const { handlers, auth, bus, client } = setup();
    client.identity = ALICE;
    await handlers.logout(client, { t: "logout", id: 14 }, ALICE);
    assert.deepEqual(auth.requests("logout"), [{ sid: ALICE.sid }]);
    assert.deepEqual(bus.kicks, [{ userId: ALICE.userId, sid: ALICE.sid, except: client.id, reason: "logout" }]);
    assert.deepEqual(client.pushed, [{ t: "ok", id: 14 }]);
    assert.equal(client.closedGracefully, true);
  });

  it("leaves the session bus and presence when the connection closes", async () => {
    const { handlers, bus, presence, client } = setup();
    await handlers.register(client, { t: "register", id: 15, username: "alice", salt: SALT, secret: SECRET, bundle, backup: "backup-blob-0000" });
    handlers.closed(client);
    assert.equal(bus.joined[0]!.left, true);
    assert.deepEqual(presence.events, [["connected", "alice"], ["disconnected", "alice"]]);
  });

  it("answers the salt to anyone, before login", async () => {
    const { handlers, auth, client } = setup();
    auth.answer("salt", () => ({ salt: SALT }));
    await handlers.salt(client, { t: "salt", id: 16, username: "alice" });
    assert.deepEqual(auth.requests("salt"), [{ username: "alice" }]);
    assert.deepEqual(client.pushed, [{ t: "salt", id: 16, salt: SALT }]);
  });

  it("changes the password for the connection's own account and closes the sessions auth ended", async () => {
    const { handlers, auth, bus, client } = setup();
    const other = "00000000-0000-4000-8000-0000000000ee";
    auth.answer("passwd", () => ({ ended: [other] }));
    await handlers.passwd(client, { t: "passwd", id: 17, secret: SECRET, salt: SALT, newSecret: SECRET, backup: "backup-blob-0001" }, ALICE);
    assert.deepEqual(auth.requests("passwd"), [
      { userId: ALICE.userId, sid: ALICE.sid, secret: SECRET, salt: SALT, newSecret: SECRET, backup: "backup-blob-0001", addr: client.address },
    ]);
    assert.deepEqual(bus.kicks, [{ userId: ALICE.userId, sid: other, except: client.id, reason: "logout" }]);
    assert.deepEqual(client.pushed, [{ t: "ok", id: 17 }]);
  });
});
