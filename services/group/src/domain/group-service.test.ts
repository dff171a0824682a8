import { beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ChainOp } from "@natter/crypto";
import { CountingRelay, FakeDirectory, FakeSigners, MemoryGroupStore, fakeId, identityKeys } from "../../test/fakes.ts";
import { GroupService } from "./group-service.ts";

describe("group service", () => {
  let store: MemoryGroupStore;
  let users: FakeDirectory;
  let signers: FakeSigners;
  let relay: CountingRelay;
  let service: GroupService;
  let now: number;
  let ids: number;

  const me = (username: string) => ({ userId: users.get(username).userId, username });
  const chainOf = (name: string) => (store.chains.get(name) ?? []).map((e) => e.entry);
  /** `username`'s signed entry for `op` on the group's chain as the store has it. */
  const signed = (username: string, name: string, op: ChainOp) => signers.sign(username, chainOf(name), op);
  const as = async (username: string, name: string, op: ChainOp) => ({ ...me(username), name, entry: await signed(username, name, op) });
  const genesis = (creator: string, name: string, others: string[] = []) => as(creator, name, signers.genesis(creator, name, others));

  beforeEach(() => {
    store = new MemoryGroupStore();
    users = new FakeDirectory(["ann", "bob", "cat", "dan"]);
    signers = new FakeSigners(users);
    relay = new CountingRelay();
    now = 1_000;
    ids = 1000;
    service = new GroupService({ store, users, relay, clock: { now: () => now++ }, newId: () => fakeId(ids++), p: signers.p });
  });

  it("creates a group from its signed genesis, its id the one the genesis commits to, and flushes its event", async () => {
    const view = await service.create({ ...(await genesis("ann", "team", ["bob", "cat"])), members: ["bob", "cat"] });
    assert.deepEqual(view.members.map((m) => [m.username, m.role]), [["ann", "admin"], ["bob", "member"], ["cat", "member"]]);
    assert.equal(view.id, (await signers.state(chainOf("team")))!.groupId);
    assert.equal(store.outbox.length, 1);
    assert.equal(relay.flushes, 1);
  });

  it("creates nothing when a member is unknown", async () => {
    await assert.rejects(service.create({ ...(await genesis("ann", "team", ["bob"])), members: ["bob", "zed"] }), { code: "NO_SUCH_USER" });
    assert.deepEqual(await service.list({}), { groups: [] });
    assert.equal(store.outbox.length, 0);
  });

  it("joins or creates, and lists groups with member counts", async () => {
    await service.join(await genesis("ann", "team"));
    await service.join(await as("bob", "team", { type: "join", member: users.ref("bob") }));
    await service.join(await genesis("cat", "solo"));
    const { groups } = await service.list({});
    assert.deepEqual(groups.map((g) => [g.name, g.members, g.closed]), [["solo", 1, false], ["team", 2, false]]);
  });

  it("shows members only to members, and the chain to members or to anyone while the group is open", async () => {
    await service.create({ ...(await genesis("ann", "team", ["bob"])), members: ["bob"] });
    const { members } = await service.members({ ...me("bob"), name: "team" });
    assert.deepEqual(members.map((m) => m.username), ["ann", "bob"]);
    assert.equal(typeof members[0]!.joinedAt, "number");
    await assert.rejects(service.members({ ...me("cat"), name: "team" }), { code: "NOT_A_MEMBER" });
    await assert.rejects(service.members({ ...me("cat"), name: "nope" }), { code: "NO_SUCH_GROUP" });
    const page = await service.chain({ ...me("cat"), name: "team", after: -1 });
    assert.deepEqual(page.entries, chainOf("team"));
    assert.deepEqual(page.head, { seq: 0, hash: await signers.hash(chainOf("team")[0]!) });
    await service.close(await as("ann", "team", { type: "close" }));
    await assert.rejects(service.chain({ ...me("cat"), name: "team", after: -1 }), { code: "GROUP_CLOSED" });
    assert.equal((await service.chain({ ...me("bob"), name: "team", after: 0 })).entries.length, 1);
  });

  it("resolves the target of add, remove and admin, and takes only the entry that makes that change", async () => {
    await service.create(await genesis("ann", "team"));
    await assert.rejects(service.add({ ...(await as("ann", "team", { type: "close" })), user: "zed" }), { code: "NO_SUCH_USER" });
    await assert.rejects(service.add({ ...(await as("ann", "team", { type: "add", member: users.ref("cat") })), user: "bob" }), { code: "BAD_ENTRY" });
    await service.add({ ...(await as("ann", "team", { type: "add", member: users.ref("bob") })), user: "bob" });
    await service.admin({ ...(await as("ann", "team", { type: "promote", userId: me("bob").userId })), user: "bob" });
    const view = await service.remove({ ...(await as("bob", "team", { type: "remove", userId: me("ann").userId })), user: "ann" });
    assert.deepEqual(view.members.map((m) => [m.username, m.role]), [["bob", "admin"]]);
  });

  it("hands admin on when the last admin leaves, and deletes an empty group with its chain", async () => {
    await service.create(await genesis("ann", "team"));
    await service.join(await as("bob", "team", { type: "join", member: users.ref("bob") }));
    await service.join(await as("cat", "team", { type: "join", member: users.ref("cat") }));
    const view = await service.leave(await as("ann", "team", { type: "leave" }));
    assert.deepEqual(view.members.map((m) => [m.username, m.role]), [["bob", "admin"], ["cat", "member"]]);
    await service.leave(await as("bob", "team", { type: "leave" }));
    const last = await service.leave(await as("cat", "team", { type: "leave" }));
    assert.deepEqual(last.members, []);
    assert.equal(await store.find("team"), undefined);
    assert.equal(store.chains.get("team"), undefined);
    await assert.rejects(service.leave(await as("cat", "team", { type: "leave" })), { code: "NO_SUCH_GROUP" });
  });

  it("keeps people out of a closed group unless an admin adds them", async () => {
    await service.create(await genesis("ann", "team"));
    await assert.rejects(service.close(await as("bob", "team", { type: "close" })), { code: "NOT_A_MEMBER" });
    await service.close(await as("ann", "team", { type: "close" }));
    await assert.rejects(service.join(await as("bob", "team", { type: "join", member: users.ref("bob") })), { code: "GROUP_CLOSED" });
    const view = await service.add({ ...(await as("ann", "team", { type: "add", member: users.ref("bob") })), user: "bob" });
    assert.equal(view.closed, true);
    assert.deepEqual(view.members.map((m) => m.username), ["ann", "bob"]);
  });

  describe("refuses a change that is not what its signer may make", () => {
    beforeEach(async () => {
      await service.create({ ...(await genesis("ann", "team", ["bob"])), members: ["bob"] });
    });

    it("signed by a member who is not an admin", async () => {
      await assert.rejects(service.add({ ...(await as("bob", "team", { type: "add", member: users.ref("cat") })), user: "cat" }), { code: "NOT_ADMIN" });
    });

    it("with a signature that is not the signer's", async () => {
      const entry = JSON.parse(await signed("ann", "team", { type: "close" })) as { sig: string };
      const forged = JSON.stringify({ ...entry, sig: (JSON.parse(await signed("bob", "team", { type: "close" })) as { sig: string }).sig });
      await assert.rejects(service.close({ ...me("ann"), name: "team", entry: forged }), { code: "BAD_ENTRY" });
    });

    it("signed for someone other than the one sending it", async () => {
      await assert.rejects(service.close({ ...me("bob"), name: "team", entry: await signed("ann", "team", { type: "close" }) }), { code: "BAD_ENTRY" });
    });

    it("built on an old head: STALE_HEAD, with the current one", async () => {
      const stale = await signed("ann", "team", { type: "close" });
      await service.add({ ...(await as("ann", "team", { type: "add", member: users.ref("cat") })), user: "cat" });
      const head = { seq: 1, head: await signers.hash(chainOf("team")[1]!) };
      await assert.rejects(service.close({ ...me("ann"), name: "team", entry: stale }), (err: { code: string; detail: unknown }) => {
        assert.equal(err.code, "STALE_HEAD");
        assert.deepEqual(err.detail, { seq: head.seq, head: head.head });
        return true;
      });
    });

    it("naming a key for a member that is not the one auth holds", async () => {
      const swapped = { ...users.ref("cat"), identityKey: identityKeys().identityKey };
      await assert.rejects(service.add({ ...(await as("ann", "team", { type: "add", member: swapped })), user: "cat" }), { code: "BAD_ENTRY" });
      assert.equal(chainOf("team").length, 1, "nothing appended");
    });

    it("that is no entry at all", async () => {
      await assert.rejects(service.close({ ...me("ann"), name: "team", entry: "{\"v\":1}" }), { code: "BAD_ENTRY" });
    });
  });
});
