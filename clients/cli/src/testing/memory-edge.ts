import { randomUUID } from "node:crypto";
import { applyEntry, createPrimitives, parseEntry, type ChainState, type Primitives } from "@natter/crypto";
import { foldName, type GroupEvent, type GroupView, type InboxMessage, type PublicBundle } from "@natter/protocol";
import { CliError } from "../errors.ts";
import type { ClaimedBundle, EdgeApi, GroupChangeOp } from "../messaging/edge-api.ts";

interface User {
  userId: string;
  username: string;
  bundle: PublicBundle;
}

interface Group {
  /** The signed entries, oldest first, and the state they make. */
  chain: string[];
  state: ChainState;
  /** When each member joined, by this server's clock (what `members` reports). */
  joinedAt: Map<string, number>;
}

/**
 * The messenger's edge (`EdgeApi`) in memory, for tests of the messaging core: a directory
 * of published bundles, an inbox per user and groups as chains of signed changes, which
 * the clients make and the test reads. Sends are stored once per id; a group message is
 * copied to every other member once, and only when its sender is a member; a change is
 * checked as the group service checks it (signature, link, rule, each named key the
 * user's published one) and reaches the members' inboxes as events.
 */
export class MemoryEdge {
  /** Every group message as published (what a server could see). */
  readonly groupMessages: Array<{ id: string; from: string; group: string; body: Uint8Array }> = [];
  private readonly users = new Map<string, User>();
  private readonly inboxes = new Map<string, InboxMessage[]>();
  private readonly groups = new Map<string, Group>();
  private readonly storedIds = new Set<string>();
  /** Each user's latest key backup, as the client last put it. */
  readonly backups = new Map<string, string>();
  private joinedClock = 0;

  constructor(private readonly p: Primitives = createPrimitives()) {}

  /** Registers a user with their device's public bundle; returns their user id. */
  publish(username: string, bundle: PublicBundle): string {
    const user = { userId: randomUUID(), username: foldName(username), bundle: structuredClone(bundle) };
    this.users.set(user.userId, user);
    return user.userId;
  }

  /** The user's new device replaces the old one (same account, new keys). */
  republish(userId: string, bundle: PublicBundle): void {
    this.user(userId).bundle = structuredClone(bundle);
  }

  /** How many one-time KEM prekeys the user has left here. */
  kemPrekeyCount(userId: string): number {
    return this.user(userId).bundle.kemOneTimePrekeys?.length ?? 0;
  }

  /** How many one-time prekeys the user has left here. */
  prekeyCount(userId: string): number {
    return this.user(userId).bundle.oneTimePrekeys.length;
  }

  /** What waits for `userId`, oldest first. */
  inbox(userId: string): InboxMessage[] {
    return [...(this.inboxes.get(userId) ?? [])];
  }

  /** Empties an inbox (the test delivered what was in it). */
  clearInbox(userId: string): void {
    this.inboxes.delete(userId);
  }

  /** Hands out a prekey bundle for `user`, spending one of their one-time prekeys. */
  claim(user: string): ClaimedBundle {
    const u = this.byName(user);
    const { oneTimePrekeys, kemOneTimePrekeys, ...rest } = u.bundle;
    const oneTimePrekey = oneTimePrekeys.shift();
    const kemOneTimePrekey = kemOneTimePrekeys?.shift();
    return {
      userId: u.userId,
      username: u.username,
      bundle: { ...rest, ...(oneTimePrekey ? { oneTimePrekey } : {}), ...(kemOneTimePrekey ? { kemOneTimePrekey } : {}) },
    };
  }

  /** The group named `name` as this server holds it (undefined when there is none). */
  groupState(name: string): ChainState | undefined {
    return this.groups.get(foldName(name))?.state;
  }

  /** The edge as `userId` sees it. */
  edgeFor(userId: string): EdgeApi {
    return {
      claim: async (user) => this.claim(user),
      lookup: async (user) => {
        const u = this.byName(user);
        return { userId: u.userId, username: u.username, identityKey: u.bundle.identityKey };
      },
      send: async (msg) => {
        if (!this.users.has(msg.to)) throw new CliError("NO_SUCH_USER");
        if (this.storedIds.has(msg.id)) return;
        this.storedIds.add(msg.id);
        this.deliver(msg.to, { v: 1, id: msg.id, from: userId, fromName: this.user(userId).username, body: new Uint8Array(msg.body), sentAt: Date.now() });
      },
      prekeys: async (add, replace, addKem) => {
        const { bundle } = this.user(userId);
        if (replace) {
          bundle.oneTimePrekeys = [];
          bundle.kemOneTimePrekeys = [];
        }
        bundle.oneTimePrekeys.push(...add);
        (bundle.kemOneTimePrekeys ??= []).push(...(addKem ?? []));
        return { count: bundle.oneTimePrekeys.length, kemCount: bundle.kemOneTimePrekeys.length, kemLastResort: bundle.kemLastResortPrekey !== undefined };
      },
      putBackup: async (backup) => {
        this.backups.set(userId, backup);
      },
      signedPrekey: async (key, kemLastResort) => {
        const { bundle } = this.user(userId);
        bundle.signedPrekey = key;
        if (kemLastResort) bundle.kemLastResortPrekey = kemLastResort;
      },
      members: async (name) => {
        const group = this.groups.get(foldName(name));
        if (!group) throw new CliError("NO_SUCH_GROUP");
        const { state } = group;
        if (!state.members.some((m) => m.userId === userId)) throw new CliError("NOT_A_MEMBER");
        return {
          group: { id: state.groupId, name: state.name, closed: !state.open },
          members: state.members.map((m) => ({ userId: m.userId, username: m.username, role: m.admin ? "admin" : "member", joinedAt: group.joinedAt.get(m.userId) ?? 0 } as const)),
        };
      },
      chain: async (name, after) => {
        const group = this.groups.get(foldName(name));
        if (!group) throw new CliError("NO_SUCH_GROUP");
        const { state } = group;
        if (!state.open && !state.members.some((m) => m.userId === userId)) throw new CliError("GROUP_CLOSED");
        return { group: { id: state.groupId, name: state.name }, head: { seq: state.seq, hash: state.head }, entries: group.chain.slice(after + 1), more: false };
      },
      groupChange: async (req) => this.change(userId, req),
      gsend: async (msg) => {
        this.groupMessages.push({ id: msg.id, from: userId, group: msg.group, body: new Uint8Array(msg.body) });
        const group = [...this.groups.values()].find((g) => g.state.groupId === msg.group);
        if (!group || !group.state.members.some((m) => m.userId === userId)) return;
        for (const m of group.state.members) {
          if (m.userId === userId || this.storedIds.has(`${msg.id}:${m.userId}`)) continue;
          this.storedIds.add(`${msg.id}:${m.userId}`);
          this.deliver(m.userId, {
            v: 1, id: msg.id, from: userId, fromName: this.user(userId).username, body: new Uint8Array(msg.body), sentAt: Date.now(),
            group: { id: group.state.groupId, name: group.state.name },
          });
        }
      },
    };
  }

  /** A signed change, checked as the group service checks it, then applied and told to the members. */
  private async change(userId: string, req: { op: GroupChangeOp; name: string; entry: string }): Promise<GroupView> {
    const name = foldName(req.name);
    const group = this.groups.get(name);
    const parsed = await parseEntry(this.p, req.entry);
    if (!parsed.ok || parsed.value.entry.by !== userId) throw new CliError("BAD_ENTRY");
    const { entry } = parsed.value;
    if (group && entry.op.type === "genesis") throw new CliError("GROUP_NAME_TAKEN");
    if (!group && entry.op.type !== "genesis") throw new CliError("NO_SUCH_GROUP");
    if (group && (entry.prev !== group.state.head || entry.seq !== group.state.seq + 1)) throw new CliError("STALE_HEAD");
    const named = entry.op.type === "genesis" ? entry.op.members : entry.op.type === "add" || entry.op.type === "join" ? [entry.op.member] : [];
    for (const m of named) if (this.users.get(m.userId)?.bundle.identityKey !== m.identityKey) throw new CliError("BAD_ENTRY");
    const r = await applyEntry(this.p, group?.state, req.entry);
    if (!r.ok) throw new CliError(r.code === "NOT_ADMIN" || r.code === "NOT_A_MEMBER" || r.code === "ALREADY_A_MEMBER" || r.code === "GROUP_CLOSED" ? r.code : "BAD_ENTRY");
    const before = group?.state;
    const after = r.value;
    const next: Group = { chain: [...(group?.chain ?? []), req.entry], state: after, joinedAt: new Map(group?.joinedAt) };
    for (const m of after.members) if (!next.joinedAt.has(m.userId)) next.joinedAt.set(m.userId, ++this.joinedClock);
    for (const id of next.joinedAt.keys()) if (!after.members.some((m) => m.userId === id)) next.joinedAt.delete(id);
    if (after.ended) this.groups.delete(name);
    else this.groups.set(name, next);
    const op = entry.op;
    const tellAll = (kind: GroupEvent["kind"], who: string, also: string[] = []) => this.tell(after, kind, who, userId, also);
    switch (op.type) {
      case "genesis": tellAll("created", userId); break;
      case "join": tellAll("joined", userId); break;
      case "add": tellAll("added", op.member.userId); break;
      case "remove": tellAll("removed", op.userId, [op.userId]); break;
      case "leave": tellAll("left", userId, [userId]); break;
      case "promote": tellAll("admin", op.userId); break;
      case "close": tellAll("closed", userId); break;
      case "rename": break;
    }
    for (const m of after.members) if (m.admin && before?.members.some((b) => b.userId === m.userId && !b.admin) && op.type === "leave") tellAll("admin", m.userId);
    return {
      id: after.groupId, name: after.name, closed: !after.open,
      members: after.members.map((m) => ({ userId: m.userId, username: m.username, role: m.admin ? "admin" : "member" })),
    };
  }

  private tell(state: ChainState, kind: GroupEvent["kind"], who: string, by: string, also: string[] = []): void {
    const [user, actor] = [this.user(who), this.user(by)];
    const event: GroupEvent = { kind, group: { id: state.groupId, name: state.name }, user: { id: user.userId, name: user.username }, by: { id: actor.userId, name: actor.username } };
    const id = randomUUID();
    for (const to of new Set([...state.members.map((m) => m.userId), ...also])) {
      this.deliver(to, { v: 1, id, from: actor.userId, fromName: actor.username, body: new Uint8Array(0), sentAt: Date.now(), event });
    }
  }

  private deliver(to: string, msg: InboxMessage): void {
    const box = this.inboxes.get(to) ?? [];
    box.push(msg);
    this.inboxes.set(to, box);
  }

  private user(userId: string): User {
    const user = this.users.get(userId);
    if (!user) throw new Error(`no user ${userId} here`);
    return user;
  }

  private byName(name: string): User {
    const user = [...this.users.values()].find((u) => u.username === foldName(name));
    if (!user) throw new CliError("NO_SUCH_USER");
    return user;
  }
}
