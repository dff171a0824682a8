import { assert, type GroupRole } from "@natter/protocol";
import type { GroupState, Member, Transition } from "./group-state.ts";

/** One write a store makes to carry out a transition. */
export type Change =
  | { readonly op: "insertGroup"; readonly group: Omit<GroupState, "members"> }
  | { readonly op: "deleteGroup"; readonly groupId: string }
  | { readonly op: "setClosed"; readonly groupId: string; readonly closed: boolean }
  | { readonly op: "addMember"; readonly groupId: string; readonly member: Member }
  | { readonly op: "removeMember"; readonly groupId: string; readonly userId: string }
  | { readonly op: "setRole"; readonly groupId: string; readonly userId: string; readonly role: GroupRole };

/**
 * The writes that turn `before` into the transition's group, in an order a store can
 * apply one by one (new members in join order).
 */
export function changesOf(before: GroupState | undefined, t: Transition): Change[] {
  const after = t.group;
  if (t.deleted) return before ? [{ op: "deleteGroup", groupId: before.id }] : [];
  if (!before) {
    const { members, ...group } = after;
    return [{ op: "insertGroup", group }, ...members.map((member) => ({ op: "addMember", groupId: group.id, member }) as const)];
  }
  assert(before.id === after.id, "a transition keeps the group's id");
  const out: Change[] = [];
  const groupId = after.id;
  if (before.closed !== after.closed) out.push({ op: "setClosed", groupId, closed: after.closed });
  const was = new Map(before.members.map((m) => [m.userId, m]));
  const is = new Map(after.members.map((m) => [m.userId, m]));
  for (const m of before.members) if (!is.has(m.userId)) out.push({ op: "removeMember", groupId, userId: m.userId });
  for (const m of after.members) {
    const old = was.get(m.userId);
    if (!old) out.push({ op: "addMember", groupId, member: m });
    else if (old.role !== m.role) out.push({ op: "setRole", groupId, userId: m.userId, role: m.role });
  }
  return out;
}
