import type { ChainOp, ChainState, Primitives } from "@natter/crypto";
import type { Clock } from "@natter/kit";
import { MAX_CHAIN_PAGE, NatterError, type GroupApi, type GroupView, type VerbRequest, type VerbResult } from "@natter/protocol";
import { StoredChains, appendTo, keysMatch, submitted, type Expected } from "./chain-check.ts";
import { changesOf } from "./changes.ts";
import { findMember, type GroupState, type Transition, type User } from "./group-state.ts";
import type { GroupStore, NoticeRelay, UserDirectory } from "./ports.ts";
import { addMember, closeGroup, createGroup, joinGroup, leaveGroup, makeAdmin, removeMember, requireMember, type Context } from "./rules.ts";

export interface GroupDeps {
  store: GroupStore;
  users: UserDirectory;
  relay: NoticeRelay;
  clock: Clock;
  newId(): string;
  /** Signature and hash checks of the group chain. */
  p: Primitives;
}

/**
 * The group service's verbs. Each mutating one carries the signed entry that makes the
 * change: the service checks that the entry is what the verb asks for, that every key it
 * names is the one auth holds, and under the group's lock that it builds on the chain's
 * head and follows its rules (chain-check.ts); then it updates the tables, which are the
 * chain's projection (rules.ts), stores the entry, and has the membership events
 * published before it answers.
 */
export class GroupService {
  private readonly stored = new StoredChains();

  constructor(private readonly deps: GroupDeps) {}

  async create(req: VerbRequest<GroupApi, "create">): Promise<VerbResult<GroupApi, "create">> {
    const actor = actorOf(req);
    const others = [...new Set(req.members ?? [])].filter((name) => name !== actor.username);
    // Every name is resolved first, so an unknown one leaves nothing behind.
    const users = await Promise.all(others.map((name) => this.deps.users.resolve(name)));
    const expected = genesisOf(req.name, actor, users);
    return this.mutate(req.name, actor, req.entry, expected, (group, ctx, chain) => createGroup(group, ctx, req.name, users, chain.groupId));
  }

  join(req: VerbRequest<GroupApi, "join">): Promise<VerbResult<GroupApi, "join">> {
    const actor = actorOf(req);
    const genesis = genesisOf(req.name, actor, []);
    const expected: Expected = (op) => genesis(op) || (op.type === "join" && op.member.userId === actor.userId);
    return this.mutate(req.name, actor, req.entry, expected, (group, ctx, chain) => joinGroup(group, ctx, req.name, chain.groupId));
  }

  async chain(req: VerbRequest<GroupApi, "chain">): Promise<VerbResult<GroupApi, "chain">> {
    const group = await this.deps.store.find(req.name);
    if (!group) throw new NatterError("NO_SUCH_GROUP");
    // Members read it; so may anyone who could join (an open group), to build a join on it.
    if (group.closed && !findMember(group, req.userId)) throw new NatterError("GROUP_CLOSED");
    const page = await this.deps.store.chain(req.name, req.after, MAX_CHAIN_PAGE);
    if (!page) throw new NatterError("BAD_ENTRY", LEGACY);
    return { group: page.group, head: page.head, entries: [...page.entries], more: page.more };
  }

  async list(_req: VerbRequest<GroupApi, "list">): Promise<VerbResult<GroupApi, "list">> {
    return { groups: await this.deps.store.list() };
  }

  async members(req: VerbRequest<GroupApi, "members">): Promise<VerbResult<GroupApi, "members">> {
    const group = requireMember(await this.deps.store.find(req.name), { actor: actorOf(req) });
    return {
      group: { id: group.id, name: group.name, closed: group.closed },
      members: group.members.map(({ userId, username, role, joinedAt }) => ({ userId, username, role, joinedAt })),
    };
  }

  async add(req: VerbRequest<GroupApi, "add">): Promise<VerbResult<GroupApi, "add">> {
    const target = await this.deps.users.resolve(req.user);
    const expected: Expected = (op) => op.type === "add" && op.member.userId === target.userId;
    return this.mutate(req.name, actorOf(req), req.entry, expected, (group, ctx) => addMember(group, ctx, target));
  }

  async remove(req: VerbRequest<GroupApi, "remove">): Promise<VerbResult<GroupApi, "remove">> {
    const target = await this.deps.users.resolve(req.user);
    const self = target.userId === req.userId;
    // Removing oneself is leaving, and is signed as a leave.
    const expected: Expected = (op) => (self ? op.type === "leave" : op.type === "remove" && op.userId === target.userId);
    return this.mutate(req.name, actorOf(req), req.entry, expected, (group, ctx) => removeMember(group, ctx, target));
  }

  leave(req: VerbRequest<GroupApi, "leave">): Promise<VerbResult<GroupApi, "leave">> {
    return this.mutate(req.name, actorOf(req), req.entry, (op) => op.type === "leave", (group, ctx) => leaveGroup(group, ctx));
  }

  async admin(req: VerbRequest<GroupApi, "admin">): Promise<VerbResult<GroupApi, "admin">> {
    const target = await this.deps.users.resolve(req.user);
    const expected: Expected = (op) => op.type === "promote" && op.userId === target.userId;
    return this.mutate(req.name, actorOf(req), req.entry, expected, (group, ctx) => makeAdmin(group, ctx, target));
  }

  close(req: VerbRequest<GroupApi, "close">): Promise<VerbResult<GroupApi, "close">> {
    return this.mutate(req.name, actorOf(req), req.entry, (op) => op.type === "close", (group, ctx) => closeGroup(group, ctx));
  }

  private async mutate(
    name: string,
    actor: User,
    entry: string,
    expected: Expected,
    decide: (group: GroupState | undefined, ctx: Context, chain: ChainState) => Transition,
  ): Promise<GroupView> {
    const { p } = this.deps;
    const s = await submitted(p, entry, actor);
    // What the entry does is checked first: a genesis naming many strangers costs no lookups.
    if (!expected(s.entry.op)) throw new NatterError("BAD_ENTRY", "the entry does not make the change asked for");
    await keysMatch(this.deps.users, s.entry.op);
    const ctx: Context = { actor, now: this.deps.clock.now(), newId: () => this.deps.newId() };
    const view = await this.deps.store.update(name, async (current, chain) => {
      if (current && chain.length === 0) throw new NatterError("BAD_ENTRY", LEGACY);
      if (current && s.entry.op.type === "genesis") throw new NatterError("GROUP_NAME_TAKEN");
      if (!current && s.entry.op.type !== "genesis") throw new NatterError("NO_SUCH_GROUP");
      const { state, append } = await appendTo(p, chain, s, this.stored);
      const t = projected(decide(current, ctx, state), state);
      return { changes: changesOf(current, t), notices: t.notices, append, result: viewOf(t.group) };
    });
    await this.deps.relay.flush();
    return view;
  }
}

const LEGACY = "this group was made before signed membership: make it again under a new name";

/** A genesis of `name`, open, made by `actor` as its only admin with exactly `others` as members. */
function genesisOf(name: string, actor: User, others: readonly User[]): Expected {
  const ids = new Set([actor.userId, ...others.map((u) => u.userId)]);
  return (op: ChainOp) =>
    op.type === "genesis" && op.name === name && op.open && op.members.length === ids.size
    && op.members.every((m) => ids.has(m.userId) && m.admin === (m.userId === actor.userId));
}

/**
 * The tables' transition, checked against the chain's: the same members, with the chain's
 * roles (the two apply the same rules; a difference is a bug, not a choice).
 */
function projected(t: Transition, chain: ChainState): Transition {
  const ids = new Set(chain.members.map((m) => m.userId));
  const same = t.deleted ? chain.ended : t.group.members.length === ids.size && t.group.members.every((m) => ids.has(m.userId));
  if (!same) throw new NatterError("INTERNAL", "the group's tables and its chain disagree");
  const admins = new Set(chain.members.filter((m) => m.admin).map((m) => m.userId));
  const members = t.group.members.map((m) => ({ ...m, role: admins.has(m.userId) ? ("admin" as const) : ("member" as const) }));
  return { ...t, group: { ...t.group, closed: !chain.open, members } };
}

function actorOf(req: { userId: string; username: string }): User {
  return { userId: req.userId, username: req.username };
}

function viewOf(group: GroupState): GroupView {
  return {
    id: group.id,
    name: group.name,
    closed: group.closed,
    members: group.members.map(({ userId, username, role }) => ({ userId, username, role })),
  };
}
