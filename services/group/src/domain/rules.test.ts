import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fakeId } from "../../test/fakes.ts";
import type { GroupState, Member, User } from "./group-state.ts";
import { addMember, closeGroup, createGroup, joinGroup, leaveGroup, longestStanding, makeAdmin, removeMember, type Context } from "./rules.ts";

const ann: User = { userId: fakeId(1), username: "ann" };
const bob: User = { userId: fakeId(2), username: "bob" };
const cat: User = { userId: fakeId(3), username: "cat" };
const dan: User = { userId: fakeId(4), username: "dan" };

let ids = 100;
function as(actor: User, now = 1000): Context {
  return { actor, now, newId: () => fakeId(ids++) };
}

function member(user: User, role: Member["role"], joinedAt: number): Member {
  return { ...user, role, joinedAt };
}

function group(members: Member[], closed = false): GroupState {
  return { id: fakeId(50), name: "team", closed, createdAt: 0, members };
}

const codeOf = (code: string) => ({ code });

describe("group rules", () => {
  describe("create", () => {
    it("makes the creator admin and the others members, once each", () => {
      const t = createGroup(undefined, as(ann), "team", [bob, ann, bob]);
      assert.deepEqual(t.group.members.map((m) => [m.username, m.role]), [["ann", "admin"], ["bob", "member"]]);
      assert.equal(t.notices.length, 1);
      assert.equal(t.notices[0]!.message.event?.kind, "created");
      assert.deepEqual(t.notices[0]!.recipients, [ann.userId, bob.userId]);
    });

    it("refuses a name that exists", () => {
      assert.throws(() => createGroup(group([member(bob, "admin", 1)]), as(ann), "team", []), codeOf("GROUP_NAME_TAKEN"));
    });
  });

  describe("join", () => {
    it("creates the group when there is none, the joiner admin", () => {
      const t = joinGroup(undefined, as(ann), "team");
      assert.deepEqual(t.group.members.map((m) => [m.username, m.role]), [["ann", "admin"]]);
      assert.equal(t.notices[0]!.message.event?.kind, "created");
    });

    it("adds the joiner as a member and tells everyone", () => {
      const t = joinGroup(group([member(ann, "admin", 1)]), as(bob, 5), "team");
      assert.deepEqual(t.group.members.at(-1), member(bob, "member", 5));
      const n = t.notices[0]!;
      assert.equal(n.message.event?.kind, "joined");
      assert.deepEqual(n.recipients, [ann.userId, bob.userId]);
      assert.deepEqual(n.message.event?.user, { id: bob.userId, name: "bob" });
      assert.equal(n.message.from, bob.userId);
      assert.equal(n.message.body.byteLength, 0);
    });

    it("refuses a member and a closed group", () => {
      assert.throws(() => joinGroup(group([member(ann, "admin", 1)]), as(ann), "team"), codeOf("ALREADY_A_MEMBER"));
      assert.throws(() => joinGroup(group([member(ann, "admin", 1)], true), as(bob), "team"), codeOf("GROUP_CLOSED"));
    });
  });

  describe("add and remove", () => {
    const g = group([member(ann, "admin", 1), member(bob, "member", 2)]);

    it("lets only admins add or remove", () => {
      assert.throws(() => addMember(g, as(bob), cat), codeOf("NOT_ADMIN"));
      assert.throws(() => removeMember(g, as(bob), ann), codeOf("NOT_ADMIN"));
      assert.throws(() => addMember(g, as(cat), dan), codeOf("NOT_A_MEMBER"));
      assert.throws(() => addMember(undefined, as(ann), cat), codeOf("NO_SUCH_GROUP"));
    });

    it("adds to a closed group", () => {
      const t = addMember({ ...g, closed: true }, as(ann), cat);
      assert.deepEqual(t.group.members.map((m) => m.username), ["ann", "bob", "cat"]);
      assert.equal(t.notices[0]!.message.event?.kind, "added");
      assert.deepEqual(t.notices[0]!.message.event?.by, { id: ann.userId, name: "ann" });
    });

    it("refuses to add a member or remove a stranger", () => {
      assert.throws(() => addMember(g, as(ann), bob), codeOf("ALREADY_A_MEMBER"));
      assert.throws(() => removeMember(g, as(ann), cat), codeOf("NOT_A_MEMBER"));
    });

    it("tells the removed member too", () => {
      const t = removeMember(g, as(ann), bob);
      assert.deepEqual(t.group.members.map((m) => m.username), ["ann"]);
      assert.equal(t.notices[0]!.message.event?.kind, "removed");
      assert.deepEqual(t.notices[0]!.recipients, [ann.userId, bob.userId]);
    });

    it("treats removing oneself as leaving", () => {
      const t = removeMember(g, as(ann), ann);
      assert.equal(t.notices[0]!.message.event?.kind, "left");
      assert.equal(t.group.members[0]!.role, "admin");
    });
  });

  describe("leave", () => {
    it("hands admin to the longest-standing member when the last admin leaves", () => {
      const g = group([member(cat, "member", 3), member(ann, "admin", 1), member(dan, "member", 4), member(bob, "member", 2)]);
      const t = leaveGroup(g, as(ann));
      assert.deepEqual(t.group.members.filter((m) => m.role === "admin").map((m) => m.username), ["bob"]);
      assert.deepEqual(t.notices.map((n) => n.message.event?.kind), ["left", "admin"]);
      assert.ok(t.notices[0]!.recipients.includes(ann.userId), "the leaver hears of it");
      assert.equal(t.notices[1]!.message.event?.by, undefined);
      assert.ok(!t.notices[1]!.recipients.includes(ann.userId));
    });

    it("keeps the roles when another admin stays", () => {
      const t = leaveGroup(group([member(ann, "admin", 1), member(bob, "member", 2), member(cat, "admin", 3)]), as(ann));
      assert.deepEqual(t.group.members.map((m) => [m.username, m.role]), [["bob", "member"], ["cat", "admin"]]);
      assert.equal(t.notices.length, 1);
    });

    it("deletes the group when the last member leaves", () => {
      const t = leaveGroup(group([member(ann, "admin", 1)]), as(ann));
      assert.equal(t.deleted, true);
      assert.deepEqual(t.notices[0]!.recipients, [ann.userId]);
    });

    it("refuses a non-member", () => {
      assert.throws(() => leaveGroup(group([member(ann, "admin", 1)]), as(bob)), codeOf("NOT_A_MEMBER"));
    });

    it("picks the first of members who joined together", () => {
      assert.equal(longestStanding([member(cat, "member", 2), member(bob, "member", 2)]).username, "cat");
    });
  });

  describe("admin and close", () => {
    const g = group([member(ann, "admin", 1), member(bob, "member", 2)]);

    it("lets an admin make a member admin, once", () => {
      const t = makeAdmin(g, as(ann), bob);
      assert.equal(t.group.members[1]!.role, "admin");
      assert.equal(t.notices[0]!.message.event?.kind, "admin");
      assert.equal(makeAdmin(t.group, as(ann), bob).notices.length, 0);
      assert.throws(() => makeAdmin(g, as(bob), bob), codeOf("NOT_ADMIN"));
      assert.throws(() => makeAdmin(g, as(ann), cat), codeOf("NOT_A_MEMBER"));
    });

    it("closes for admins only, once", () => {
      assert.throws(() => closeGroup(g, as(bob)), codeOf("NOT_ADMIN"));
      const t = closeGroup(g, as(ann));
      assert.equal(t.group.closed, true);
      assert.equal(t.notices[0]!.message.event?.kind, "closed");
      assert.equal(closeGroup(t.group, as(ann)).notices.length, 0);
    });
  });
});
