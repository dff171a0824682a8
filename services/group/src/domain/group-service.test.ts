import { beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { CountingRelay, FakeDirectory, MemoryGroupStore, fakeId } from "../../test/fakes.ts";
import { GroupService } from "./group-service.ts";

describe("group service", () => {
  let store: MemoryGroupStore;
  let users: FakeDirectory;
  let relay: CountingRelay;
  let service: GroupService;
  let now: number;
  let ids: number;
  const me = (username: string) => ({ userId: users.get(username).userId, username });

  beforeEach(() => {
    store = new MemoryGroupStore();
    users = new FakeDirectory(["ann", "bob", "cat", "dan"]);
    relay = new CountingRelay();
    now = 1_000;
    ids = 1000;
    service = new GroupService({ store, users, relay, clock: { now: () => now++ }, newId: () => fakeId(ids++) });
  });

  it("creates a group with resolved members and flushes its event", async () => {
    const view = await service.create({ ...me("ann"), name: "team", members: ["bob", "cat"] });
    assert.deepEqual(view.members.map((m) => [m.username, m.role]), [["ann", "admin"], ["bob", "member"], ["cat", "member"]]);
    assert.equal(store.outbox.length, 1);
    assert.equal(relay.flushes, 1);
  });

  it("creates nothing when a member is unknown", async () => {
    await assert.rejects(service.create({ ...me("ann"), name: "team", members: ["bob", "zed"] }), { code: "NO_SUCH_USER" });
    assert.deepEqual(await service.list({}), { groups: [] });
    assert.equal(store.outbox.length, 0);
  });

  it("joins or creates, and lists groups with member counts", async () => {
    await service.join({ ...me("ann"), name: "team" });
    await service.join({ ...me("bob"), name: "team" });
    await service.join({ ...me("cat"), name: "solo" });
    const { groups } = await service.list({});
    assert.deepEqual(groups.map((g) => [g.name, g.members, g.closed]), [["solo", 1, false], ["team", 2, false]]);
  });

  it("shows members only to members", async () => {
    await service.create({ ...me("ann"), name: "team", members: ["bob"] });
    const { members } = await service.members({ ...me("bob"), name: "team" });
    assert.deepEqual(members.map((m) => m.username), ["ann", "bob"]);
    assert.equal(typeof members[0]!.joinedAt, "number");
    await assert.rejects(service.members({ ...me("cat"), name: "team" }), { code: "NOT_A_MEMBER" });
    await assert.rejects(service.members({ ...me("cat"), name: "nope" }), { code: "NO_SUCH_GROUP" });
  });

  it("resolves the target of add, remove and admin", async () => {
    await service.create({ ...me("ann"), name: "team" });
    await assert.rejects(service.add({ ...me("ann"), name: "team", user: "zed" }), { code: "NO_SUCH_USER" });
    await service.add({ ...me("ann"), name: "team", user: "bob" });
    await service.admin({ ...me("ann"), name: "team", user: "bob" });
    const view = await service.remove({ ...me("bob"), name: "team", user: "ann" });
    assert.deepEqual(view.members.map((m) => [m.username, m.role]), [["bob", "admin"]]);
  });

  it("hands admin on when the last admin leaves, and deletes an empty group", async () => {
    await service.create({ ...me("ann"), name: "team" });
    await service.join({ ...me("bob"), name: "team" });
    await service.join({ ...me("cat"), name: "team" });
    const view = await service.leave({ ...me("ann"), name: "team" });
    assert.deepEqual(view.members.map((m) => [m.username, m.role]), [["bob", "admin"], ["cat", "member"]]);
    await service.leave({ ...me("bob"), name: "team" });
    const last = await service.leave({ ...me("cat"), name: "team" });
    assert.deepEqual(last.members, []);
    assert.equal(await store.find("team"), undefined);
    await assert.rejects(service.leave({ ...me("cat"), name: "team" }), { code: "NO_SUCH_GROUP" });
  });

  it("keeps people out of a closed group unless an admin adds them", async () => {
    await service.create({ ...me("ann"), name: "team" });
    await assert.rejects(service.close({ ...me("bob"), name: "team" }), { code: "NOT_A_MEMBER" });
    await service.close({ ...me("ann"), name: "team" });
    await assert.rejects(service.join({ ...me("bob"), name: "team" }), { code: "GROUP_CLOSED" });
    const view = await service.add({ ...me("ann"), name: "team", user: "bob" });
    assert.equal(view.closed, true);
    assert.deepEqual(view.members.map((m) => m.username), ["ann", "bob"]);
  });
});
