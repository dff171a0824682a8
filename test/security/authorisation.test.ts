/**
 * Who may do what, checked against the real services: nobody acts as someone else,
 * reads another's inbox, claims a prekey twice, posts to a group they are not in,
 * changes membership without being admin, or fetches a file without its id; and
 * guessing passwords runs into the lockout.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { applyEntry, createPrimitives, makeEntry, toBase64url, type ChainOp } from "@natter/crypto";
import type { ServerFrame } from "@natter/protocol";
import { RawClient } from "../support/raw-client.ts";
import { account, loginSecretOf, startServers, type Servers } from "../support/in-process.ts";

let servers: Servers;

before(async () => {
  servers = await startServers();
});

after(async () => {
  await servers?.stop();
});

const P = createPrimitives();
const code = (reply: ServerFrame) => (reply.t === "error" ? reply.code : reply.t);

describe("authorisation", () => {
  it("stamps the real sender whatever a frame claims", async () => {
    const mallory = await account(servers.address());
    const alice = await account(servers.address());
    const bob = await account(servers.address());
    await bob.client.ok({ t: "receive" });
    await mallory.client.ok({
      t: "send", from: alice.session.userId, fromName: alice.name,
      msg: { id: randomUUID(), to: bob.session.userId, body: new Uint8Array([1]), from: alice.session.userId, fromName: alice.name },
    });
    const got = await bob.client.next((f) => f.t === "deliver");
    assert.ok(got.t === "deliver");
    assert.equal(got.msg.from, mallory.session.userId);
    assert.equal(got.msg.fromName, mallory.name);
    for (const c of [mallory, alice, bob]) c.client.close();
  });

  it("gives each account only its own inbox", async () => {
    const alice = await account(servers.address());
    const bob = await account(servers.address());
    const mallory = await account(servers.address());
    await alice.client.ok({ t: "send", msg: { id: randomUUID(), to: bob.session.userId, body: new Uint8Array([2]) } });
    await mallory.client.ok({ t: "receive", user: bob.name, userId: bob.session.userId });
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!mallory.client.frames.some((f) => f.t === "deliver"), "mallory got bob's mail");
    const stranger = await RawClient.connect(servers.address());
    assert.equal(code(await stranger.request({ t: "receive" })), "NOT_AUTHENTICATED");
    assert.equal(code(await stranger.request({ t: "backup" })), "NOT_AUTHENTICATED");
    for (const c of [alice, bob, mallory]) c.client.close();
    stranger.close();
  });

  it("hands out each one-time prekey once", async () => {
    const bob = await account(servers.address());
    const mallory = await account(servers.address());
    const claims = await Promise.all([1, 2, 3].map(() => mallory.client.ok<"keys">({ t: "claim", user: bob.name })));
    const ids = claims.map((c) => c.bundle.oneTimePrekey?.id).filter((id) => id !== undefined);
    assert.deepEqual(ids.sort(), [1, 2], "two one-time prekeys, each once; then the signed prekey alone");
    bob.client.close();
    mallory.client.close();
  });

  it("lets only members post to a group and only admins change its members", async () => {
    const admin = await account(servers.address());
    const member = await account(servers.address());
    const outsider = await account(servers.address());
    const name = `g${randomUUID().slice(0, 8)}`;
    const ref = (a: typeof admin) => ({ userId: a.session.userId, username: a.name, identityKey: a.identity.identityKey });
    const genesis = await makeEntry(P, admin.identity.seed, undefined, admin.session.userId, {
      type: "genesis", name, open: true, nonce: toBase64url(P.randomBytes(16)), members: [{ ...ref(admin), admin: true }, { ...ref(member), admin: false }],
    }, Date.now());
    const { group } = await admin.client.ok<"group">({ t: "group", op: "create", name, members: [member.name], entry: genesis });
    await member.client.ok({ t: "receive" });

    // Validly signed by the member, on the real head: refused because the member is no admin.
    const state = await applyEntry(P, undefined, genesis);
    assert.ok(state.ok);
    const byMember = (op: ChainOp) => makeEntry(P, member.identity.seed, state.value, member.session.userId, op, Date.now());
    const add = await byMember({ type: "add", member: ref(outsider) });
    assert.equal(code(await member.client.request({ t: "group", op: "add", name, user: outsider.name, entry: add })), "NOT_ADMIN");
    const remove = await byMember({ type: "remove", userId: admin.session.userId });
    assert.equal(code(await member.client.request({ t: "group", op: "remove", name, user: admin.name, entry: remove })), "NOT_ADMIN");
    assert.equal(code(await member.client.request({ t: "group", op: "add", name, user: outsider.name })), "BAD_FRAME", "no change without its signed entry");
    assert.equal(code(await outsider.client.request({ t: "group", op: "members", name })), "NOT_A_MEMBER");

    const intruding = randomUUID();
    await outsider.client.ok({ t: "gsend", msg: { id: intruding, group: group.id, body: new Uint8Array([3]) } });
    const allowed = randomUUID();
    await admin.client.ok({ t: "gsend", msg: { id: allowed, group: group.id, body: new Uint8Array([4]) } });
    const got = await member.client.next((f) => f.t === "deliver" && f.msg.id === allowed);
    assert.ok(got.t === "deliver" && got.msg.group?.id === group.id);
    assert.ok(!member.client.frames.some((f) => f.t === "deliver" && f.msg.id === intruding), "an outsider's message reached a member");
    for (const c of [admin, member, outsider]) c.client.close();
  });

  it("serves a file only to whoever has its id", async () => {
    const mallory = await account(servers.address());
    assert.equal(code(await mallory.client.request({ t: "download", file: randomUUID() })), "NO_SUCH_FILE");
    const stranger = await RawClient.connect(servers.address());
    assert.equal(code(await stranger.request({ t: "download", file: randomUUID() })), "NOT_AUTHENTICATED");
    mallory.client.close();
    stranger.close();
  });

  it("locks an account after three wrong guesses, whatever the guess", async () => {
    const victim = await account(servers.address());
    victim.client.close();
    const guesser = await RawClient.connect(servers.address());
    const outcomes: string[] = [];
    for (const password of ["password1", "password2", "password3", victim.password]) {
      outcomes.push(code(await guesser.request({ t: "login", username: victim.name, secret: loginSecretOf(password) })));
    }
    assert.deepEqual(outcomes, ["BAD_CREDENTIALS", "BAD_CREDENTIALS", "BAD_CREDENTIALS", "ACCOUNT_LOCKED"]);
    guesser.close();
  });
});
