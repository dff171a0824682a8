/**
 * End to end: groups on the real stack (auth, group and two edges as processes, real NATS
 * and Postgres) with real `natter` processes — and the sender keys checked against what
 * the server actually carried.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { CryptoError, InboundSenderKeys, createPrimitives, senderKeyMessageInfo } from "@natter/crypto";
import { GroupEnvelope, decodeBody, names, parse } from "@natter/protocol";
import { HomeStore, type GroupFile } from "natter-cli";
import { startFixture, type Fixture } from "../support/stack-fixture.ts";
import { Listener, natter, newHome, type Result } from "../support/cli.ts";

const PASSWORD = "correct horse battery";
const p = createPrimitives();
let fx: Fixture;
let nc: NatsConnection;
let tap: Subscription;
/** Every group message the edges published, as the servers saw it. */
const carried: GroupEnvelope[] = [];

interface User {
  name: string;
  home: string;
  userId: string;
}

async function register(name: string): Promise<User> {
  const home = newHome();
  const result = await natter(home, fx.stack.servers, ["register", name, "--password-stdin"], { stdin: `${PASSWORD}\n` });
  assert.equal(result.code, 0, `register ${name}: ${result.stderr}`);
  return { name, home, userId: String(result.json[0]!["userId"]) };
}

async function ok(user: User, args: string[]): Promise<Result> {
  const result = await natter(user.home, fx.stack.servers, args);
  assert.equal(result.code, 0, `${user.name} ${args.join(" ")}: ${result.stderr}`);
  return result;
}

async function groupSend(user: User, group: string, text: string): Promise<string> {
  const result = await ok(user, ["group", "send", group, text]);
  assert.equal(result.json[0]!["status"], "accepted");
  return String(result.json[0]!["id"]);
}

/** The group message with this id as the servers carried it. */
async function captured(id: string): Promise<GroupEnvelope> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = carried.find((e) => e.id === id);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`group message ${id} was never published`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function groupKeys(user: User, groupId: string): Promise<GroupFile | undefined> {
  return (await HomeStore.open(user.home)).readGroup(groupId);
}

/** Tries to open a captured message with the given stored keys of its sender; returns the failure code. */
async function openWith(keys: GroupFile | undefined, envelope: GroupEnvelope): Promise<string> {
  const stored = keys?.inbound[envelope.from];
  if (stored === undefined) return "NO_KEYS";
  try {
    await InboundSenderKeys.fromJSON(p, stored).decrypt(envelope.body);
    return "OPENED";
  } catch (err) {
    assert.ok(err instanceof CryptoError, String(err));
    return err.code;
  }
}

function texts(listener: Listener, group: string): Array<Record<string, unknown>> {
  return listener.lines.filter((l) => l["type"] === "text" && l["group"] === group);
}

before(async () => {
  fx = await startFixture();
  nc = await connect({ servers: fx.services.natsUrl });
  tap = nc.subscribe(names(fx.services.namespace).group("*"));
  void (async () => {
    for await (const m of tap) carried.push(parse(GroupEnvelope, decodeBody(m.data)));
  })();
});

after(async () => {
  await nc?.close();
  await fx?.stop();
});

describe("groups", () => {
  let alice: User, bob: User, carol: User, dave: User;
  const listeners = new Map<string, Listener>();
  let groupId: string;

  before(async () => {
    [alice, bob, carol, dave] = await Promise.all(["alice", "bob", "carol", "dave"].map(register)) as [User, User, User, User];
  });

  after(async () => {
    await Promise.all([...listeners.values()].map((l) => l.stop()));
  });

  it("lets a group of four chat, every member receiving every message once", async () => {
    const created = await ok(alice, ["group", "create", "team", "bob", "carol", "dave"]);
    assert.equal(created.json[0]!["status"], "created");
    assert.deepEqual(created.json[0]!["members"], ["alice", "bob", "carol", "dave"]);
    groupId = String(created.json[0]!["id"]);

    for (const u of [alice, bob, carol, dave]) listeners.set(u.name, new Listener(u.home, fx.stack.servers));
    await Promise.all([...listeners.values()].map((l) => l.waitFor((line) => line["status"] === "listening")));

    const sent = new Map<string, string>();
    await Promise.all([alice, bob, carol, dave].map(async (u) => {
      const text = `hello from ${u.name} ${Math.random().toString(36).slice(2)}`;
      await groupSend(u, "team", text);
      sent.set(u.name, text);
    }));
    for (const u of [alice, bob, carol, dave]) {
      const listener = listeners.get(u.name)!;
      await listener.waitFor((l) => l["type"] === "text" && l["group"] === "team", 3);
    }
    await new Promise((r) => setTimeout(r, 1000)); // anything shown twice would show by now
    for (const u of [alice, bob, carol, dave]) {
      const got = texts(listeners.get(u.name)!, "team");
      const expected = [...sent].filter(([from]) => from !== u.name).map(([from, text]) => `${from}: ${text}`).sort();
      assert.deepEqual(got.map((l) => `${l["from"]}: ${l["text"]}`).sort(), expected, `${u.name} sees every other member's message once`);
      assert.equal(new Set(got.map((l) => l["id"])).size, got.length);
      assert.equal(listeners.get(u.name)!.stderr.filter((l) => l.includes("DECRYPT_FAILED")).length, 0);
    }
    // The membership event reached the members too, in the documented shape.
    const [event] = await listeners.get("bob")!.waitFor((l) => l["type"] === "event");
    assert.deepEqual([event!["group"], event!["event"], event!["user"], event!["by"]], ["team", "created", "alice", "alice"]);
  });

  it("refuses a non-admin's add and remove with the catalogue's sentence", async () => {
    for (const args of [["group", "add", "team", "alice"], ["group", "remove", "team", "carol"]]) {
      const refused = await natter(bob.home, fx.stack.servers, args);
      assert.equal(refused.code, 1, refused.stderr);
      assert.deepEqual(JSON.parse(refused.stderr.trim()), { error: "NOT_ADMIN", message: "only admins can add or remove members" });
    }
    const human = await natter(bob.home, fx.stack.servers, ["group", "remove", "team", "carol"]);
    assert.equal(human.code, 1);
  });

  let afterRemoval: GroupEnvelope;

  it("keeps a removed member from receiving, and from decrypting, anything sent after the removal", async () => {
    const before = await captured(await groupSend(alice, "team", "one more before dave goes"));
    await listeners.get("dave")!.waitFor((l) => l["type"] === "text" && l["text"] === "one more before dave goes");
    // What a malicious dave keeps: every key he held while he was a member.
    const keptByDave = await groupKeys(dave, groupId);
    assert.equal(await openWith(keptByDave, before), "DUPLICATE_MESSAGE", "dave's stored keys did read alice's earlier message");

    const removed = await ok(alice, ["group", "remove", "team", "dave"]);
    assert.equal(removed.json[0]!["status"], "removed");
    await listeners.get("dave")!.waitFor((l) => l["type"] === "event" && l["event"] === "removed" && l["user"] === "dave");

    const secret = `after the removal ${Math.random().toString(36).slice(2)}`;
    afterRemoval = await captured(await groupSend(alice, "team", secret));
    assert.notEqual(senderKeyMessageInfo(afterRemoval.body).keyId, senderKeyMessageInfo(before.body).keyId, "alice rotated her sender key");
    for (const name of ["bob", "carol"]) await listeners.get(name)!.waitFor((l) => l["text"] === secret);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(listeners.get("dave")!.lines.filter((l) => l["text"] === secret).length, 0, "dave received nothing new");
    assert.equal(await openWith(keptByDave, afterRemoval), "UNKNOWN_SENDER_KEY", "the keys dave kept do not open it");
    assert.notEqual(await openWith(await groupKeys(dave, groupId), afterRemoval), "OPENED");
    // The members who stay read on, and bob's next message is sealed with a new key of his too.
    const bobBefore = carried.filter((e) => e.from === bob.userId).at(-1)!;
    const bobAfter = await captured(await groupSend(bob, "team", "bob after dave"));
    assert.notEqual(senderKeyMessageInfo(bobAfter.body).keyId, senderKeyMessageInfo(bobBefore.body).keyId, "bob rotated too (he saw the event)");
    await listeners.get("carol")!.waitFor((l) => l["text"] === "bob after dave");
    assert.equal(await openWith(keptByDave, bobAfter), "UNKNOWN_SENDER_KEY");
  });

  it("keeps a member who joins later from reading what was sent before", async () => {
    const erin = await register("erin");
    const joined = await ok(erin, ["group", "join", "team"]);
    assert.equal(joined.json[0]!["status"], "joined");
    const now = `welcome erin ${Math.random().toString(36).slice(2)}`;
    const later = await captured(await groupSend(alice, "team", now));
    assert.equal(senderKeyMessageInfo(later.body).keyId, senderKeyMessageInfo(afterRemoval.body).keyId, "same key as before erin joined");
    const got = await natter(erin.home, fx.stack.servers, ["receive", "--wait", "1"]);
    assert.equal(got.code, 0, got.stderr);
    assert.deepEqual(got.json.filter((l) => l["type"] === "text").map((l) => [l["from"], l["group"], l["text"]]), [["alice", "team", now]]);
    const erinKeys = await groupKeys(erin, groupId);
    assert.equal(await openWith(erinKeys, later), "DUPLICATE_MESSAGE", "erin's keys read the message sent after she joined");
    assert.equal(await openWith(erinKeys, afterRemoval), "DECRYPT_FAILED", "but not one from before, under the same key");
  });

  it("creates a group on JOIN when there is none, and LIST counts the members", async () => {
    const frank = await register("frank");
    const joined = await ok(frank, ["group", "join", "lonely"]);
    assert.equal(joined.json[0]!["status"], "created");
    assert.deepEqual(joined.json[0]!["members"], ["frank"]);
    const list = await ok(frank, ["group", "list"]);
    assert.deepEqual(list.json.sort((a, b) => String(a["name"]).localeCompare(String(b["name"]))), [
      { name: "lonely", members: 1 },
      { name: "team", members: 4 },
    ]);
    const members = await ok(alice, ["group", "members", "team"]);
    assert.deepEqual(members.json.map((m) => [m["name"], m["role"]]), [["alice", "admin"], ["bob", "member"], ["carol", "member"], ["erin", "member"]]);
  });
});
