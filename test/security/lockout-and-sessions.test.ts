/**
 * Sessions a user can manage, against the real services through an edge: a stolen refresh
 * token used after its owner rotated it ends the whole session, connected or not; sessions
 * are listed and ended by their owner only; a takeover ends every other session.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ServerFrame } from "@natter/protocol";
import { RawClient } from "../support/raw-client.ts";
import { startServers, type Servers } from "../support/in-process.ts";

let servers: Servers;

before(async () => {
  servers = await startServers();
});

after(async () => {
  await servers?.stop();
});

const code = (reply: ServerFrame) => (reply.t === "error" ? reply.code : reply.t);
const bundle = {
  v: 1, identityKey: "ik", identityDhKey: "dh", identityDhSignature: "sig",
  signedPrekey: { id: 1, publicKey: "spk", signature: "sig" }, oneTimePrekeys: [],
};
// What a client sends in place of the password: a secret derived from it, and its salt.
const SECRET = "login-secret-".padEnd(43, "x");
const SALT = "s".repeat(22);

/** A fresh account, registered on a connection that stays logged in. */
async function account(address: string) {
  const name = `u${Math.random().toString(36).slice(2, 10)}`;
  const client = await RawClient.connect(address);
  const session = await client.ok<"session">({ t: "register", username: name, salt: SALT, secret: SECRET, bundle, backup: "backup-blob-0000" });
  return { client, session, name };
}
const login = (name: string) => ({ t: "login", username: name, secret: SECRET, takeover: true });
const kicked = (client: RawClient) => client.next((f) => f.t === "event" && f.kind === "kicked");

describe("sessions", () => {
  it("end as a whole family when an old refresh token is used again", async () => {
    const victim = await account(servers.address());
    const stolen = victim.session.refresh;
    // The owner's device refreshes: the stolen token is now an old one.
    const device = await RawClient.connect(servers.address());
    const rotated = await device.ok<"session">({ t: "refresh", refresh: stolen });
    assert.notEqual(rotated.refresh, stolen);

    const thief = await RawClient.connect(servers.address());
    assert.equal(code(await thief.request({ t: "refresh", refresh: stolen })), "TOKEN_INVALID");

    const owner = await RawClient.connect(servers.address());
    assert.equal(code(await owner.request({ t: "refresh", refresh: rotated.refresh })), "TOKEN_INVALID", "the newest token of the family is dead too");
    assert.equal(code(await owner.request({ t: "resume", token: rotated.token })), "SESSION_ENDED");
    await kicked(device);
    await device.closed;
    await kicked(victim.client);
    for (const c of [victim.client, device, thief, owner]) c.close();
  });

  it("are listed for their owner and ended one by one or all but this one", async () => {
    const first = await account(servers.address());
    const second = await RawClient.connect(servers.address());
    await second.ok<"session">({ t: "refresh", refresh: first.session.refresh });
    const listed = await first.client.ok<"sessions">({ t: "sessions" });
    assert.equal(listed.sessions.length, 1, "a refresh continues the same session");
    const [only] = listed.sessions;
    assert.ok(only && only.current && only.addr.startsWith("127.0.0.1"));
    assert.ok(only.startedAt <= only.lastSeenAt);

    const stranger = await account(servers.address());
    assert.equal(code(await stranger.client.request({ t: "revoke", session: only.id })), "NO_SUCH_SESSION", "nobody ends another's session");
    assert.equal(code(await first.client.request({ t: "revoke" })), "BAD_FRAME");

    const other = await RawClient.connect(servers.address());
    await other.ok<"session">(login(first.name));
    await kicked(first.client);
    await kicked(second);
    const afterTakeover = await other.ok<"sessions">({ t: "sessions" });
    assert.equal(afterTakeover.sessions.length, 1, "a takeover ends every other session");

    const offline = await RawClient.connect(servers.address());
    const extra = await offline.ok<"session">(login(first.name));
    offline.close();
    await kicked(other);
    // A second session while nobody is connected: a plain login, no takeover.
    const third = await RawClient.connect(servers.address());
    const spare = await third.ok<"session">({ ...login(first.name), takeover: false });
    third.close();
    await third.closed;
    const fresh = await RawClient.connect(servers.address());
    await fresh.ok<"resumed">({ t: "resume", token: extra.token });
    const both = (await fresh.ok<"sessions">({ t: "sessions" })).sessions;
    assert.deepEqual(both.map((s) => s.current), [true, false]);
    assert.equal(code(await fresh.request({ t: "revoke", session: both[0]!.id })), "BAD_FRAME", "this connection's own session ends with logout");
    assert.equal((await fresh.ok<"revoked">({ t: "revoke", session: both[1]!.id })).ended, 1);
    const late = await RawClient.connect(servers.address());
    assert.equal(code(await late.request({ t: "refresh", refresh: spare.refresh })), "TOKEN_INVALID");
    assert.equal(code(await late.request({ t: "resume", token: spare.token })), "SESSION_ENDED");
    assert.equal((await fresh.ok<"revoked">({ t: "revoke", others: true })).ended, 0, "nothing else is left");
    for (const c of [first.client, second, stranger.client, other, fresh, late]) c.close();
  });

  it("end every other session on a takeover, including those not connected", async () => {
    const owner = await account(servers.address());
    const laptop = owner.session;
    owner.client.close();
    await owner.client.closed;
    const phone = await RawClient.connect(servers.address());
    await phone.ok<"session">(login(owner.name));
    const later = await RawClient.connect(servers.address());
    assert.equal(code(await later.request({ t: "refresh", refresh: laptop.refresh })), "TOKEN_INVALID");
    assert.equal(code(await later.request({ t: "resume", token: laptop.token })), "SESSION_ENDED");
    for (const c of [phone, later]) c.close();
  });
});
