import { NatterError, assert, type GroupEvent } from "@natter/protocol";
import { findMember, type GroupState, type Member, type Notice, type Transition, type User } from "./group-state.ts";

/** Who acts, when, and where fresh ids come from. */
export interface Context {
  readonly actor: User;
  readonly now: number;
  newId(): string;
}

/**
 * Creates `name` with the actor as admin and `others` as members. GROUP_NAME_TAKEN when
 * it exists. `id` is the one the group's genesis entry commits to.
 */
export function createGroup(existing: GroupState | undefined, ctx: Context, name: string, others: readonly User[], id = ctx.newId()): Transition {
  if (existing) throw new NatterError("GROUP_NAME_TAKEN");
  const members: Member[] = [{ ...ctx.actor, role: "admin", joinedAt: ctx.now }];
  for (const other of others) {
    if (!members.some((m) => m.userId === other.userId)) members.push({ ...pick(other), role: "member", joinedAt: ctx.now });
  }
  const group: GroupState = { id, name, closed: false, createdAt: ctx.now, members };
  return changed(group, [notice(ctx, group, "created", ctx.actor, ctx.actor, everyone(group))]);
}

/** Joins an open group, or creates it when there is none (the joiner then admin). */
export function joinGroup(group: GroupState | undefined, ctx: Context, name: string, id?: string): Transition {
  if (!group) return createGroup(undefined, ctx, name, [], id);
  if (findMember(group, ctx.actor.userId)) throw new NatterError("ALREADY_A_MEMBER");
  if (group.closed) throw new NatterError("GROUP_CLOSED");
  const next = withMembers(group, [...group.members, { ...ctx.actor, role: "member", joinedAt: ctx.now }]);
  return changed(next, [notice(ctx, next, "joined", ctx.actor, ctx.actor, everyone(next))]);
}

/** An admin adds `target`, also to a closed group. */
export function addMember(group: GroupState | undefined, ctx: Context, target: User): Transition {
  const current = requireAdmin(group, ctx);
  if (findMember(current, target.userId)) throw new NatterError("ALREADY_A_MEMBER", "that user is already a member of the group");
  const next = withMembers(current, [...current.members, { ...pick(target), role: "member", joinedAt: ctx.now }]);
  return changed(next, [notice(ctx, next, "added", target, ctx.actor, everyone(next))]);
}

/** An admin removes `target`; removing oneself is leaving. The removed member is told too. */
export function removeMember(group: GroupState | undefined, ctx: Context, target: User): Transition {
  const current = requireAdmin(group, ctx);
  const member = findMember(current, target.userId);
  if (!member) throw notAMember();
  if (member.userId === ctx.actor.userId) return leaveGroup(current, ctx);
  const next = withMembers(current, current.members.filter((m) => m.userId !== member.userId));
  return changed(next, [notice(ctx, next, "removed", member, ctx.actor, [...everyone(next), member.userId])]);
}

/**
 * The actor leaves. When no admin remains, the longest-standing member becomes admin;
 * when nobody remains, the group is deleted.
 */
export function leaveGroup(group: GroupState | undefined, ctx: Context): Transition {
  const current = requireMember(group, ctx);
  const remaining = current.members.filter((m) => m.userId !== ctx.actor.userId);
  const left = notice(ctx, current, "left", ctx.actor, ctx.actor, [...remaining.map((m) => m.userId), ctx.actor.userId]);
  if (remaining.length === 0) return { group: withMembers(current, []), deleted: true, notices: [left] };
  if (remaining.some((m) => m.role === "admin")) return changed(withMembers(current, remaining), [left]);

  const successor = longestStanding(remaining);
  const next = withMembers(current, remaining.map((m) => (m.userId === successor.userId ? { ...m, role: "admin" } : m)));
  return changed(next, [left, notice(ctx, next, "admin", successor, undefined, everyone(next))]);
}

/** An admin makes another member admin; nothing changes when they are one already. */
export function makeAdmin(group: GroupState | undefined, ctx: Context, target: User): Transition {
  const current = requireAdmin(group, ctx);
  const member = findMember(current, target.userId);
  if (!member) throw notAMember();
  if (member.role === "admin") return changed(current, []);
  const next = withMembers(current, current.members.map((m) => (m.userId === member.userId ? { ...m, role: "admin" } : m)));
  return changed(next, [notice(ctx, next, "admin", member, ctx.actor, everyone(next))]);
}

/** An admin closes the group: from now on only admins let people in. */
export function closeGroup(group: GroupState | undefined, ctx: Context): Transition {
  const current = requireAdmin(group, ctx);
  if (current.closed) return changed(current, []);
  const next: GroupState = { ...current, closed: true };
  return changed(next, [notice(ctx, next, "closed", ctx.actor, ctx.actor, everyone(next))]);
}

/** The member who joined first (ties keep join order). */
export function longestStanding(members: readonly Member[]): Member {
  let first = members[0];
  assert(first, "a successor is chosen among members");
  for (const m of members) if (m.joinedAt < first.joinedAt) first = m;
  return first;
}

export function requireGroup(group: GroupState | undefined): GroupState {
  if (!group) throw new NatterError("NO_SUCH_GROUP");
  return group;
}

export function requireMember(group: GroupState | undefined, ctx: Pick<Context, "actor">): GroupState {
  const current = requireGroup(group);
  if (!findMember(current, ctx.actor.userId)) throw new NatterError("NOT_A_MEMBER");
  return current;
}

function requireAdmin(group: GroupState | undefined, ctx: Context): GroupState {
  const current = requireMember(group, ctx);
  if (findMember(current, ctx.actor.userId)?.role !== "admin") throw new NatterError("NOT_ADMIN");
  return current;
}

function notAMember(): NatterError {
  return new NatterError("NOT_A_MEMBER", "that user is not a member of the group");
}

function pick(user: User): User {
  return { userId: user.userId, username: user.username };
}

function withMembers(group: GroupState, members: readonly Member[]): GroupState {
  return { ...group, members };
}

function everyone(group: GroupState): string[] {
  return group.members.map((m) => m.userId);
}

function changed(group: GroupState, notices: Notice[]): Transition {
  return { group, deleted: false, notices };
}

function notice(ctx: Context, group: GroupState, kind: GroupEvent["kind"], user: User, by: User | undefined, recipients: string[]): Notice {
  const event: GroupEvent = {
    kind,
    group: { id: group.id, name: group.name },
    user: { id: user.userId, name: user.username },
    ...(by ? { by: { id: by.userId, name: by.username } } : {}),
  };
  return {
    recipients: [...new Set(recipients)],
    message: { v: 1, id: ctx.newId(), from: ctx.actor.userId, fromName: ctx.actor.username, body: new Uint8Array(0), sentAt: ctx.now, event },
  };
}
