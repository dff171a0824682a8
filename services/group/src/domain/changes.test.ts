import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fakeId } from "../../test/fakes.ts";
import { changesOf } from "./changes.ts";
import type { GroupState } from "./group-state.ts";

const ann = { userId: fakeId(1), username: "ann" };
const bob = { userId: fakeId(2), username: "bob" };
const cat = { userId: fakeId(3), username: "cat" };
const before: GroupState = {
  id: fakeId(9), name: "team", closed: false, createdAt: 0,
  members: [{ ...ann, role: "admin", joinedAt: 1 }, { ...bob, role: "member", joinedAt: 2 }],
};

describe("changes of a transition", () => {
  it("inserts a new group, then its members in join order", () => {
    const ops = changesOf(undefined, { group: before, deleted: false, notices: [] });
    assert.deepEqual(ops.map((c) => c.op), ["insertGroup", "addMember", "addMember"]);
    assert.deepEqual(ops.slice(1).map((c) => (c.op === "addMember" ? c.member.username : "")), ["ann", "bob"]);
  });

  it("lists removals, role changes, additions and closing", () => {
    const after: GroupState = { ...before, closed: true, members: [{ ...bob, role: "admin", joinedAt: 2 }, { ...cat, role: "member", joinedAt: 3 }] };
    assert.deepEqual(changesOf(before, { group: after, deleted: false, notices: [] }), [
      { op: "setClosed", groupId: before.id, closed: true },
      { op: "removeMember", groupId: before.id, userId: ann.userId },
      { op: "setRole", groupId: before.id, userId: bob.userId, role: "admin" },
      { op: "addMember", groupId: before.id, member: after.members[1] },
    ]);
  });

  it("deletes a group that lost its last member, and writes nothing for no change", () => {
    assert.deepEqual(changesOf(before, { group: { ...before, members: [] }, deleted: true, notices: [] }), [{ op: "deleteGroup", groupId: before.id }]);
    assert.deepEqual(changesOf(before, { group: before, deleted: false, notices: [] }), []);
  });
});
