import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { AckPolicy, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { call, connectNats, ensureInboxStream, INBOX_DEFAULTS, loadConfig, serve, type NatsConnection } from "@natter/kit";
import { quietLogger, testServices, type TestServices } from "@natter/kit/testing";
import {
  AuthApi, GroupApi, InboxMessage, NatterError, decodeBody, encodeRecord, names, parse,
  type GroupEnvelope, type GroupVerb, type GroupView, type Names,
} from "@natter/protocol";
import type { z } from "zod";
import type { ChainOp } from "@natter/crypto";
import { GroupEnv, startGroup, type RunningGroup } from "../src/index.ts";
import { FakeDirectory, FakeSigners, identityKeys } from "./fakes.ts";
import { FANOUT_CONSUMER } from "../src/adapters/nats/fanout-consumer.ts";

const USERNAMES = ["ann", "bob", "cat", "dan", "eve"] as const;
type Username = (typeof USERNAMES)[number];

describe("group service over NATS and Postgres", () => {
  let services: TestServices;
  let n: Names;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let group: RunningGroup;
  const directory = new FakeDirectory(USERNAMES, () => randomUUID());
  const signers = new FakeSigners(directory);
  const user = (u: Username) => directory.get(u);
  const as = (u: Username) => ({ userId: user(u).userId, username: u });

  const rpc = <K extends GroupVerb>(verb: K, req: z.input<GroupApi[K]["req"]>) => call(nc, n.groupSvc(verb), GroupApi[verb], req);

  /** The group's stored chain as `u` may read it ([] when there is none to read). */
  const chainOf = async (u: Username, name: string): Promise<string[]> => {
    try {
      return (await rpc("chain", { ...as(u), name, after: -1 })).entries;
    } catch (err) {
      if (err instanceof NatterError && (err.code === "NO_SUCH_GROUP" || err.code === "NOT_A_MEMBER")) return [];
      throw err;
    }
  };
  /** A user as an entry names them (a made-up one for a name nobody has). */
  const refOf = (name: string) => (directory.users.has(name) ? directory.ref(name) : { userId: randomUUID(), username: name, identityKey: identityKeys().identityKey });

  type Change = "create" | "join" | "add" | "remove" | "leave" | "admin" | "close";
  /**
   * A group command as a client makes it: the entry for it signed on the chain as it is
   * now, rebuilt on the new head when another change came first (as the CLI does).
   */
  const change = async <K extends Change>(verb: K, req: Omit<z.input<GroupApi[K]["req"]>, "entry">): Promise<GroupView> => {
    const actor = req.username as Username;
    const name = req.name.toLowerCase();
    const target = "user" in req && typeof req.user === "string" ? req.user : undefined;
    for (let attempt = 0; ; attempt++) {
      const chain = verb === "create" ? [] : await chainOf(actor, name);
      const op: ChainOp = verb === "create" ? signers.genesis(actor, name, [...new Set(("members" in req ? (req.members as string[] | undefined) : undefined) ?? [])].filter((m) => m !== actor && directory.users.has(m as Username)))
        : verb === "join" ? (chain.length === 0 ? signers.genesis(actor, name) : { type: "join", member: directory.ref(actor) })
        : verb === "add" ? { type: "add", member: refOf(target!) }
        : verb === "remove" ? (target === actor ? { type: "leave" } : { type: "remove", userId: refOf(target!).userId })
        : verb === "admin" ? { type: "promote", userId: refOf(target!).userId }
        : verb === "leave" ? { type: "leave" }
        : { type: "close" };
      try {
        return await rpc(verb, { ...req, entry: await signers.sign(actor, chain, op) } as z.input<GroupApi[K]["req"]>);
      } catch (err) {
        const retry = err instanceof NatterError && (err.code === "STALE_HEAD" || (err.code === "GROUP_NAME_TAKEN" && verb === "join"));
        if (!retry || attempt >= 3) throw err;
      }
    }
  };
  const refuses = async (promise: Promise<unknown>, code: string) =>
    assert.rejects(promise, (err) => err instanceof NatterError && err.code === code);

  /** Everything now waiting in a user's inbox (taken out of it). */
  const inbox = async (u: Username): Promise<InboxMessage[]> => {
    const id = user(u).userId;
    const name = `test_${u}`;
    await jsm.consumers.add(n.inboxStream, { durable_name: name, filter_subject: n.inbox(id), ack_policy: AckPolicy.Explicit });
    const consumer = await js.consumers.get(n.inboxStream, name);
    const pending = (await consumer.info()).num_pending;
    const out: InboxMessage[] = [];
    if (pending === 0) return out;
    let last = 0;
    for await (const m of await consumer.fetch({ max_messages: pending, expires: 2000 })) {
      out.push(parse(InboxMessage, decodeBody(m.data)));
      await m.ackAck();
      last = m.seq;
      if (out.length === pending) break;
    }
    // As an edge does once its device has them.
    await jsm.streams.purge(n.inboxStream, { filter: n.inbox(id), seq: last + 1 });
    return out;
  };

  /** Waits until the fan-out has acked or dropped every group message. */
  const fanoutSettled = async () => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const info = await jsm.consumers.info(n.groupStream, FANOUT_CONSUMER);
      if (info.num_pending === 0 && info.num_ack_pending === 0) return;
      assert.ok(Date.now() < deadline, "fan-out did not settle");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  const envelope = (from: Username, groupId: string): GroupEnvelope => ({
    v: 1, id: randomUUID(), from: user(from).userId, fromName: from, groupId, body: new Uint8Array([7, 7, 7]), sentAt: Date.now(),
  });

  before(async () => {
    services = await testServices();
    n = names(services.namespace);
    const logger = quietLogger("group-test");
    nc = await connectNats({ servers: services.natsUrl, name: "group-test", logger });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    // The one stand-in: auth's `user` verb for a fixed set of users.
    serve(nc, n.auth("user"), n.authQueue, AuthApi.user, async ({ username }) => directory.resolve(username), logger);
    const config = loadConfig(GroupEnv, {
      NATS_URL: services.natsUrl,
      DATABASE_URL: services.databaseUrl,
      NATTER_NAMESPACE: services.namespace,
    });
    group = await startGroup(config, { logger: quietLogger("group") });
  });

  after(async () => {
    await group?.close();
    await nc?.drain();
    await services?.cleanup();
  });

  beforeEach(async () => {
    for (const u of USERNAMES) await inbox(u);
  });

  it("creates a group with its initial members and tells each of them", async () => {
    const view = await change("create", { ...as("ann"), name: "Alpha", members: ["bob", "cat"] });
    assert.equal(view.name, "alpha");
    assert.deepEqual(view.members.map((m) => [m.username, m.role]), [["ann", "admin"], ["bob", "member"], ["cat", "member"]]);
    for (const u of ["ann", "bob", "cat"] as const) {
      const [event, ...rest] = await inbox(u);
      assert.equal(rest.length, 0);
      assert.deepEqual(event?.event, { kind: "created", group: { id: view.id, name: "alpha" }, user: { id: user("ann").userId, name: "ann" }, by: { id: user("ann").userId, name: "ann" } });
      assert.equal(event?.from, user("ann").userId);
      assert.equal(event?.body.byteLength, 0);
    }
    assert.deepEqual(await inbox("dan"), []);
    await refuses(change("create", { ...as("dan"), name: "alpha" }), "GROUP_NAME_TAKEN");
  });

  it("creates nothing when an initial member does not exist", async () => {
    await refuses(change("create", { ...as("ann"), name: "ghosts", members: ["bob", "nobody"] }), "NO_SUCH_USER");
    const { groups } = await rpc("list", {});
    assert.ok(!groups.some((g) => g.name === "ghosts"));
    await refuses(rpc("members", { ...as("ann"), name: "ghosts" }), "NO_SUCH_GROUP");
  });

  it("creates a group on the first join and lists member counts", async () => {
    const first = await change("join", { ...as("dan"), name: "beta" });
    assert.deepEqual(first.members.map((m) => [m.username, m.role]), [["dan", "admin"]]);
    const second = await change("join", { ...as("eve"), name: "beta" });
    assert.deepEqual(second.members.map((m) => [m.username, m.role]), [["dan", "admin"], ["eve", "member"]]);
    await refuses(change("join", { ...as("eve"), name: "beta" }), "ALREADY_A_MEMBER");
    const joined = (await inbox("dan")).map((m) => m.event?.kind);
    assert.deepEqual(joined, ["created", "joined"]);
    const { groups } = await rpc("list", {});
    assert.deepEqual(groups.find((g) => g.name === "beta"), { id: first.id, name: "beta", members: 2, closed: false });
  });

  it("lets two people joining a new group at once end up in one group with one admin", async () => {
    const [a, b] = await Promise.all([change("join", { ...as("dan"), name: "race" }), change("join", { ...as("eve"), name: "race" })]);
    assert.equal(a.id, b.id);
    const { members } = await rpc("members", { ...as("dan"), name: "race" });
    assert.deepEqual(members.map((m) => m.role).sort(), ["admin", "member"]);
  });

  it("lets only admins add and remove, and tells the removed member", async () => {
    await change("create", { ...as("ann"), name: "gamma", members: ["bob"] });
    await refuses(change("add", { ...as("bob"), name: "gamma", user: "cat" }), "NOT_ADMIN");
    await refuses(change("remove", { ...as("bob"), name: "gamma", user: "ann" }), "NOT_ADMIN");
    await refuses(change("add", { ...as("ann"), name: "gamma", user: "nobody" }), "NO_SUCH_USER");
    await refuses(change("add", { ...as("ann"), name: "gamma", user: "bob" }), "ALREADY_A_MEMBER");
    await refuses(change("remove", { ...as("ann"), name: "gamma", user: "dan" }), "NOT_A_MEMBER");
    await refuses(change("add", { ...as("ann"), name: "nosuch", user: "bob" }), "NO_SUCH_GROUP");

    const added = await change("add", { ...as("ann"), name: "gamma", user: "cat" });
    assert.deepEqual(added.members.map((m) => m.username), ["ann", "bob", "cat"]);
    const removed = await change("remove", { ...as("ann"), name: "gamma", user: "bob" });
    assert.deepEqual(removed.members.map((m) => m.username), ["ann", "cat"]);

    const bobs = await inbox("bob");
    assert.deepEqual(bobs.map((m) => m.event?.kind), ["created", "added", "removed"]);
    assert.deepEqual(bobs[2]?.event?.user, { id: user("bob").userId, name: "bob" });
    assert.deepEqual((await inbox("cat")).map((m) => m.event?.kind), ["added", "removed"]);
  });

  it("makes the longest-standing member admin when the last admin leaves, and deletes an empty group", async () => {
    await change("create", { ...as("ann"), name: "delta" });
    await change("join", { ...as("bob"), name: "delta" });
    await change("join", { ...as("cat"), name: "delta" });
    await refuses(change("admin", { ...as("bob"), name: "delta", user: "bob" }), "NOT_ADMIN");
    const after = await change("leave", { ...as("ann"), name: "delta" });
    assert.deepEqual(after.members.map((m) => [m.username, m.role]), [["bob", "admin"], ["cat", "member"]]);
    assert.deepEqual((await inbox("cat")).map((m) => m.event?.kind), ["joined", "left", "admin"]);
    assert.deepEqual((await inbox("ann")).map((m) => m.event?.kind), ["created", "joined", "joined", "left"]);

    const promoted = await change("admin", { ...as("bob"), name: "delta", user: "cat" });
    assert.deepEqual(promoted.members.map((m) => m.role), ["admin", "admin"]);
    await change("leave", { ...as("bob"), name: "delta" });
    await change("leave", { ...as("cat"), name: "delta" });
    const { groups } = await rpc("list", {});
    assert.ok(!groups.some((g) => g.name === "delta"));
  });

  it("refuses joins to a closed group but lets an admin add", async () => {
    await change("create", { ...as("ann"), name: "epsilon" });
    await refuses(change("close", { ...as("dan"), name: "epsilon" }), "NOT_A_MEMBER");
    const closed = await change("close", { ...as("ann"), name: "epsilon" });
    assert.equal(closed.closed, true);
    await refuses(change("join", { ...as("dan"), name: "epsilon" }), "GROUP_CLOSED");
    const added = await change("add", { ...as("ann"), name: "epsilon", user: "dan" });
    assert.deepEqual(added.members.map((m) => m.username), ["ann", "dan"]);
    assert.equal((await rpc("list", {})).groups.find((g) => g.name === "epsilon")?.closed, true);
  });

  it("shows the members only to members", async () => {
    const view = await change("create", { ...as("ann"), name: "zeta", members: ["bob"] });
    const shown = await rpc("members", { ...as("bob"), name: "zeta" });
    assert.deepEqual(shown.group, { id: view.id, name: "zeta", closed: false });
    assert.deepEqual(shown.members.map((m) => [m.username, m.role]), [["ann", "admin"], ["bob", "member"]]);
    assert.ok(shown.members.every((m) => Math.abs(m.joinedAt - Date.now()) < 60_000));
    await refuses(rpc("members", { ...as("cat"), name: "zeta" }), "NOT_A_MEMBER");
  });

  it("stores the chain a member reads back, and refuses a forged, stale or non-admin change", async () => {
    const view = await change("create", { ...as("ann"), name: "eta", members: ["bob"] });
    await change("add", { ...as("ann"), name: "eta", user: "cat" });
    const entries = await chainOf("bob", "eta");
    const state = await signers.state(entries);
    assert.equal(state?.groupId, view.id, "the id is the one the genesis commits to");
    assert.deepEqual(state?.members.map((m) => m.username), ["ann", "bob", "cat"]);
    const page = await rpc("chain", { ...as("cat"), name: "eta", after: 1 });
    assert.deepEqual(page.entries, []);
    assert.deepEqual(page.head, { seq: 1, hash: await signers.hash(entries[1]!) });

    const close = await signers.sign("ann", entries, { type: "close" });
    const forged = JSON.stringify({ ...JSON.parse(close), sig: (JSON.parse(await signers.sign("bob", entries, { type: "close" })) as { sig: string }).sig });
    await refuses(rpc("close", { ...as("ann"), name: "eta", entry: forged }), "BAD_ENTRY");
    await refuses(rpc("close", { ...as("ann"), name: "eta", entry: await signers.sign("ann", entries.slice(0, 1), { type: "close" }) }), "STALE_HEAD");
    await refuses(rpc("add", { ...as("bob"), name: "eta", user: "dan", entry: await signers.sign("bob", entries, { type: "add", member: directory.ref("dan") }) }), "NOT_ADMIN");
    const swapped = { ...directory.ref("dan"), identityKey: identityKeys().identityKey };
    await refuses(rpc("add", { ...as("ann"), name: "eta", user: "dan", entry: await signers.sign("ann", entries, { type: "add", member: swapped }) }), "BAD_ENTRY");
    assert.deepEqual(await chainOf("ann", "eta"), entries, "nothing refused was stored");
    assert.equal((await rpc("close", { ...as("ann"), name: "eta", entry: close })).closed, true);
  });

  describe("fan-out", () => {
    let groupId: string;

    before(async () => {
      groupId = (await change("create", { ...as("ann"), name: "fanout", members: ["bob", "cat"] })).id;
    });

    it("copies a member's message once into each other member's inbox", async () => {
      const env = envelope("bob", groupId);
      await js.publish(n.group(groupId), encodeRecord(env), { msgID: env.id });
      await fanoutSettled();
      for (const u of ["ann", "cat"] as const) {
        const got = await inbox(u);
        assert.equal(got.length, 1, `${u} gets one copy`);
        const { body, ...rest } = got[0]!;
        assert.deepEqual(rest, { v: 1, id: env.id, from: env.from, fromName: "bob", sentAt: env.sentAt, group: { id: groupId, name: "fanout" } });
        assert.deepEqual([...body], [7, 7, 7]);
      }
      assert.deepEqual(await inbox("bob"), []);
      assert.deepEqual(await inbox("dan"), []);
    });

    it("adds no second copy when the same message comes again", async () => {
      const env = envelope("ann", groupId);
      await js.publish(n.group(groupId), encodeRecord(env), { msgID: env.id });
      // Stands for a redelivery: same message id, stored again on GROUPS.
      await js.publish(n.group(groupId), encodeRecord(env), { msgID: `${env.id}-again` });
      await fanoutSettled();
      for (const u of ["bob", "cat"] as const) assert.deepEqual((await inbox(u)).map((m) => m.id), [env.id]);
    });

    it("gives the other members their copies, and goes on, when one member's inbox is full", async () => {
      // An edge configured a cap of three messages per inbox; cat's is full.
      await ensureInboxStream(jsm, n, { caps: { maxPerUser: 3, maxBytes: INBOX_DEFAULTS.maxBytes } });
      try {
        const waiting = [randomUUID(), randomUUID(), randomUUID()];
        for (const id of waiting) await js.publish(n.inbox(user("cat").userId), encodeRecord({ ...envelope("dan", groupId), id }), { msgID: id });
        const sent = [envelope("bob", groupId), envelope("bob", groupId)];
        for (const env of sent) await js.publish(n.group(groupId), encodeRecord(env), { msgID: env.id });
        await fanoutSettled();
        assert.deepEqual((await inbox("ann")).map((m) => m.id), sent.map((e) => e.id), "ann gets every copy, in order");
        assert.deepEqual((await inbox("cat")).map((m) => m.id), waiting, "what waited for cat is all still there");
      } finally {
        await ensureInboxStream(jsm, n, { caps: INBOX_DEFAULTS });
      }
    });

    it("drops a message from a non-member and unreadable ones", async () => {
      const env = envelope("dan", groupId);
      await js.publish(n.group(groupId), encodeRecord(env), { msgID: env.id });
      await js.publish(n.group(groupId), new Uint8Array([0xc1]), { msgID: randomUUID() });
      const elsewhere = envelope("ann", randomUUID());
      await js.publish(n.group(groupId), encodeRecord(elsewhere), { msgID: elsewhere.id });
      await fanoutSettled();
      for (const u of USERNAMES) assert.deepEqual(await inbox(u), []);
      assert.equal((await jsm.streams.info(n.groupStream)).state.messages, 0, "nothing is left on GROUPS");
    });

    it("stops copying to a member once removed", async () => {
      await change("remove", { ...as("ann"), name: "fanout", user: "cat" });
      assert.deepEqual((await inbox("cat")).map((m) => m.event?.kind), ["removed"]);
      const env = envelope("bob", groupId);
      await js.publish(n.group(groupId), encodeRecord(env), { msgID: env.id });
      await fanoutSettled();
      assert.deepEqual(await inbox("cat"), []);
      assert.deepEqual((await inbox("ann")).flatMap((m) => (m.group ? [m.id] : [])), [env.id]);
    });
  });
});
