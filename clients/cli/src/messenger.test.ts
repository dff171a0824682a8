import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DeviceIdentity } from "@natter/crypto";
import { v7 } from "uuid";
import { HomeStore } from "./home-store.ts";
import { Messenger, PREKEY_LOW_WATER, PREKEY_REFILL, type Notice } from "./messenger.ts";
import { FakeBackend } from "./testing/fake-edge.ts";
import { tempDir, testPrimitives } from "./testing/harness.ts";

interface Peer {
  name: string;
  userId: string;
  home: HomeStore;
  messenger: Messenger;
  notices: Notice[];
}

describe("the messenger", () => {
  const p = testPrimitives();
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let backend: FakeBackend;

  before(async () => {
    dir = await tempDir();
  });
  after(async () => {
    await dir[Symbol.asyncDispose]();
  });

  /** A user with a registered device and a home of their own (or a second process on `shareHome`'s home). */
  async function peer(name: string, opts: { prekeys?: number; shareHome?: Peer } = {}): Promise<Peer> {
    let userId: string;
    let home: HomeStore;
    if (opts.shareHome) {
      userId = opts.shareHome.userId;
      home = await HomeStore.open(opts.shareHome.home.dir);
    } else {
      const device = await DeviceIdentity.generate(p, { oneTimePrekeys: opts.prekeys ?? 5 });
      userId = backend.register(name, "password", device.publicBundle(), "backup-blob-0000").userId;
      home = await HomeStore.open(join(dir.path, `${name}-${v7()}`));
      await home.writeAccount({ v: 1, userId, username: name, device: device.toJSON() });
    }
    const notices: Notice[] = [];
    const messenger = new Messenger({ p, home, edge: backend.api(userId), now: () => Date.now(), newId: v7, notice: (n) => notices.push(n) });
    return { name, userId, home, messenger, notices };
  }

  /** Delivers everything waiting for `to`, acking what the messenger says may be acked; returns the texts shown. */
  async function drain(to: Peer): Promise<string[]> {
    const shown: string[] = [];
    for (const msg of backend.inbox(to.userId)) {
      const outcome = await to.messenger.receive(msg);
      if (outcome.kind === "message" && outcome.message.content.type === "text") shown.push(`${outcome.message.from}: ${outcome.message.content.text}`);
    }
    backend.clearInbox(to.userId);
    return shown;
  }

  before(() => {
    backend = new FakeBackend();
  });

  it("carries a first message, replies and follow-ups between two homes", async () => {
    const alice = await peer("alice");
    const bob = await peer("bob");
    await alice.messenger.send("bob", "hello bob");
    assert.notDeepEqual(backend.inbox(bob.userId)[0]!.body, new TextEncoder().encode("hello bob"));
    assert.deepEqual(await drain(bob), ["alice: hello bob"]);
    await bob.messenger.send("alice", "hi alice");
    await bob.messenger.send("ALICE", "how are you?");
    assert.deepEqual(await drain(alice), ["bob: hi alice", "bob: how are you?"]);
    await alice.messenger.send("bob", "fine");
    assert.deepEqual(await drain(bob), ["alice: fine"]);
    assert.deepEqual([...alice.notices, ...bob.notices], []);
  });

  it("reads several first messages sent before any reply", async () => {
    const alice = await peer("carol");
    const bob = await peer("dave");
    for (const t of ["one", "two", "three"]) await alice.messenger.send("dave", t);
    assert.deepEqual(await drain(bob), ["carol: one", "carol: two", "carol: three"]);
  });

  it("shows a message delivered twice only once", async () => {
    const alice = await peer("erin");
    const bob = await peer("frank");
    await alice.messenger.send("frank", "once");
    const [msg] = backend.inbox(bob.userId);
    const first = await bob.messenger.receive(msg!);
    const again = await bob.messenger.receive(msg!);
    assert.equal(first.kind, "message");
    assert.equal(again.kind, "duplicate");
  });

  it("reports a message that does not decrypt, without detail, and drops it", async () => {
    const alice = await peer("gina");
    const bob = await peer("hank");
    await alice.messenger.send("hank", "first");
    await drain(bob);
    await alice.messenger.send("hank", "tampered");
    const [msg] = backend.inbox(bob.userId);
    const body = new Uint8Array(msg!.body);
    body[body.length - 1]! ^= 1;
    const outcome = await bob.messenger.receive({ ...msg!, body });
    assert.deepEqual(outcome, { kind: "dropped", newSession: false });
    assert.deepEqual(bob.notices, [{ kind: "undecryptable", user: "gina", id: msg!.id }]);
    // Garbage is no better, and a redelivery of either is simply acked.
    const junk = { ...msg!, id: v7(), body: new Uint8Array([1, 2, 3]) };
    assert.equal((await bob.messenger.receive(junk)).kind, "dropped");
    assert.equal((await bob.messenger.receive(junk)).kind, "duplicate");
    // The session survives: the next real message reads.
    await drain(bob);
    await alice.messenger.send("hank", "after");
    assert.deepEqual(await drain(bob), ["gina: after"]);
  });

  it("recovers when both sides start a session at once", async () => {
    const alice = await peer("ivan");
    const bob = await peer("judy");
    await alice.messenger.send("judy", "from ivan");
    await bob.messenger.send("ivan", "from judy");
    assert.deepEqual(await drain(bob), ["ivan: from ivan"]);
    assert.deepEqual(await drain(alice), ["judy: from judy"]);
    for (let i = 0; i < 3; i++) {
      await alice.messenger.send("judy", `a${i}`);
      await bob.messenger.send("ivan", `b${i}`);
      assert.deepEqual(await drain(bob), [`ivan: a${i}`]);
      assert.deepEqual(await drain(alice), [`judy: b${i}`]);
    }
  });

  it("loses no ratchet step when two processes of one home send at once", async () => {
    const alice = await peer("kate");
    const alice2 = await peer("kate", { shareHome: alice });
    const bob = await peer("liam");
    await alice.messenger.send("liam", "hello");
    await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? alice : alice2).messenger.send("liam", `m${i}`)));
    const shown = await drain(bob);
    assert.equal(shown.length, 11);
    assert.deepEqual(bob.notices, []);
  });

  it("tops up one-time prekeys once the server runs low", async () => {
    const alice = await peer("mike");
    const bob = await peer("nina", { prekeys: PREKEY_LOW_WATER });
    await alice.messenger.send("nina", "hello");
    assert.equal(backend.prekeyCount(bob.userId), PREKEY_LOW_WATER - 1);
    const outcome = await bob.messenger.receive(backend.inbox(bob.userId)[0]!);
    assert.equal(outcome.kind === "message" && outcome.newSession, true);
    assert.equal(await bob.messenger.refillPrekeys(), PREKEY_LOW_WATER - 1 + PREKEY_REFILL);
    assert.equal(await bob.messenger.refillPrekeys(), undefined);
    // The new prekeys are usable: a third user's first message reads.
    for (let i = 0; i < PREKEY_LOW_WATER; i++) backend.claim("nina");
    const carl = await peer("oscar");
    await carl.messenger.send("nina", "via a refilled prekey");
    assert.deepEqual((await drain(bob)).slice(-1), ["oscar: via a refilled prekey"]);
  });

  it("warns loudly when a contact's identity key changes", async () => {
    const alice = await peer("paul");
    const bob = await peer("quinn");
    await alice.messenger.send("quinn", "hi");
    await drain(bob);
    // Quinn loses the device and registers new keys under the same account.
    const fresh = await DeviceIdentity.generate(p, { oneTimePrekeys: 2 });
    backend.accounts.get(bob.userId)!.bundle = fresh.publicBundle();
    await bob.home.writeAccount({ v: 1, userId: bob.userId, username: "quinn", device: fresh.toJSON() });
    await bob.home.writePeerSessions(alice.userId, []);
    await bob.messenger.send("paul", "new phone");
    assert.deepEqual(await drain(alice), ["quinn: new phone"]);
    assert.deepEqual(alice.notices, [{ kind: "identity-changed", user: "quinn" }]);
  });

  it("warns of a changed identity before the message is shown, and verify shows the new number", async () => {
    const alice = await peer("uma");
    const bob = await peer("vic");
    await alice.messenger.send("vic", "hi");
    await drain(bob);
    const before = await alice.messenger.safetyNumber("vic");
    const fresh = await DeviceIdentity.generate(p, { oneTimePrekeys: 2 });
    backend.accounts.get(bob.userId)!.bundle = fresh.publicBundle();
    await bob.home.writeAccount({ v: 1, userId: bob.userId, username: "vic", device: fresh.toJSON() });
    await bob.home.writePeerSessions(alice.userId, []);
    await bob.messenger.send("uma", "new phone");
    // The receiver shows a message only once receive() has returned it: the warning is already out.
    const outcome = await alice.messenger.receive(backend.inbox(alice.userId)[0]!);
    assert.equal(outcome.kind, "message");
    assert.deepEqual(alice.notices, [{ kind: "identity-changed", user: "vic" }]);
    backend.clearInbox(alice.userId);
    const after = await alice.messenger.safetyNumber("vic");
    const theirs = await bob.messenger.safetyNumber("uma");
    assert.notEqual(after.safetyNumber, before.safetyNumber);
    assert.equal(after.safetyNumber, theirs.safetyNumber);
    assert.equal(alice.notices.length, 1, "verify warns no second time");
  });

  it("computes the same safety number on both sides", async () => {
    const alice = await peer("rita");
    const bob = await peer("sam");
    const a = await alice.messenger.safetyNumber("sam");
    const b = await bob.messenger.safetyNumber("rita");
    assert.equal(a.safetyNumber, b.safetyNumber);
    assert.match(a.safetyNumber, /^(\d{5} ){11}\d{5}$/);
  });

  it("refuses an unknown user, an invalid name and oneself", async () => {
    const alice = await peer("tina");
    await assert.rejects(alice.messenger.send("nobody", "x"), { code: "NO_SUCH_USER" });
    await assert.rejects(alice.messenger.send("NO", "x"), { code: "INVALID_USERNAME" });
    await assert.rejects(alice.messenger.send("tina", "x"), { code: "SELF" });
  });
});
