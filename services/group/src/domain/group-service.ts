import type { Clock } from "@natter/kit";
import type { GroupApi, GroupView, VerbRequest, VerbResult } from "@natter/protocol";
import { changesOf } from "./changes.ts";
import type { GroupState, Transition, User } from "./group-state.ts";
import type { GroupStore, NoticeRelay, UserDirectory } from "./ports.ts";
import { addMember, closeGroup, createGroup, joinGroup, leaveGroup, makeAdmin, removeMember, requireMember, type Context } from "./rules.ts";

export interface GroupDeps {
  store: GroupStore;
  users: UserDirectory;
  relay: NoticeRelay;
  clock: Clock;
  newId(): string;
}

/**
 * The group service's verbs: each mutating one resolves the names it needs, decides under
 * the group's lock (rules.ts), and has the membership events published before it answers.
 */
export class GroupService {
  constructor(private readonly deps: GroupDeps) {}

  async create(req: VerbRequest<GroupApi, "create">): Promise<VerbResult<GroupApi, "create">> {
    const actor = actorOf(req);
    const others = [...new Set(req.members ?? [])].filter((name) => name !== actor.username);
    // Every name is resolved first, so an unknown one leaves nothing behind.
    const users = await Promise.all(others.map((name) => this.deps.users.resolve(name)));
    return this.mutate(req.name, actor, (group, ctx) => createGroup(group, ctx, req.name, users));
  }

  join(req: VerbRequest<GroupApi, "join">): Promise<VerbResult<GroupApi, "join">> {
    return this.mutate(req.name, actorOf(req), (group, ctx) => joinGroup(group, ctx, req.name));
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
    return this.mutate(req.name, actorOf(req), (group, ctx) => addMember(group, ctx, target));
  }

  async remove(req: VerbRequest<GroupApi, "remove">): Promise<VerbResult<GroupApi, "remove">> {
    const target = await this.deps.users.resolve(req.user);
    return this.mutate(req.name, actorOf(req), (group, ctx) => removeMember(group, ctx, target));
  }

  leave(req: VerbRequest<GroupApi, "leave">): Promise<VerbResult<GroupApi, "leave">> {
    return this.mutate(req.name, actorOf(req), (group, ctx) => leaveGroup(group, ctx));
  }

  async admin(req: VerbRequest<GroupApi, "admin">): Promise<VerbResult<GroupApi, "admin">> {
    const target = await this.deps.users.resolve(req.user);
    return this.mutate(req.name, actorOf(req), (group, ctx) => makeAdmin(group, ctx, target));
  }

  close(req: VerbRequest<GroupApi, "close">): Promise<VerbResult<GroupApi, "close">> {
    return this.mutate(req.name, actorOf(req), (group, ctx) => closeGroup(group, ctx));
  }

  private async mutate(name: string, actor: User, decide: (group: GroupState | undefined, ctx: Context) => Transition): Promise<GroupView> {
    const ctx: Context = { actor, now: this.deps.clock.now(), newId: () => this.deps.newId() };
    const view = await this.deps.store.update(name, (current) => {
      const t = decide(current, ctx);
      return { changes: changesOf(current, t), notices: t.notices, result: viewOf(t.group) };
    });
    await this.deps.relay.flush();
    return view;
  }
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
