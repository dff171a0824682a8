import { randomUUID } from "node:crypto";
import { foldName, type GroupEvent, type InboxMessage, type PublicBundle } from "@natter/protocol";
import { CliError } from "../errors.ts";
import type { ClaimedBundle, EdgeApi } from "../messaging/edge-api.ts";

interface User {
  userId: string;
  username: string;
  bundle: PublicBundle;
}

interface Member {
  userId: string;
  username: string;
  role: "admin" | "member";
  joinedAt: number;
}

interface Group {
  id: string;
  name: string;
  members: Member[];
}

/**
 * The messenger's edge (`EdgeApi`) in memory, for tests of the messaging core: a directory
 * of published bundles, an inbox per user and groups' member lists, which the test sets
 * up and reads. Sends are stored once per id; a group message is copied to every other
 * member once, and only when its sender is a member; membership changes the test makes
 * reach the members' inboxes as events, as the group service sends them.
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
    const { oneTimePrekeys, ...rest } = u.bundle;
    const oneTimePrekey = oneTimePrekeys.shift();
    return { userId: u.userId, username: u.username, bundle: { ...rest, ...(oneTimePrekey ? { oneTimePrekey } : {}) } };
  }

  /** `creator` makes a group (as its admin) with these members; every member is told. */
  createGroup(creator: string, name: string, members: string[]): { id: string; name: string } {
    const group: Group = { id: randomUUID(), name: foldName(name), members: [this.member(this.user(creator), "admin")] };
    for (const m of members.map((n) => this.byName(n))) if (!group.members.some((x) => x.userId === m.userId)) group.members.push(this.member(m, "member"));
    this.groups.set(group.name, group);
    this.tell(group, "created", creator, creator);
    return { id: group.id, name: group.name };
  }

  /** `userId` joins an existing group; every member is told. */
  join(userId: string, name: string): void {
    const group = this.group(name);
    group.members.push(this.member(this.user(userId), "member"));
    this.tell(group, "joined", userId, userId);
  }

  /** `by` removes `username` from the group; the members and the one removed are told. */
  remove(by: string, name: string, username: string): void {
    const group = this.group(name);
    const target = this.byName(username);
    group.members = group.members.filter((m) => m.userId !== target.userId);
    this.tell(group, "removed", target.userId, by, [target.userId]);
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
      prekeys: async (add, replace) => {
        const { bundle } = this.user(userId);
        if (replace) bundle.oneTimePrekeys = [];
        bundle.oneTimePrekeys.push(...add);
        return bundle.oneTimePrekeys.length;
      },
      putBackup: async (backup) => {
        this.backups.set(userId, backup);
      },
      signedPrekey: async (key) => {
        this.user(userId).bundle.signedPrekey = key;
      },
      members: async (name) => {
        const group = this.groups.get(foldName(name));
        if (!group) throw new CliError("NO_SUCH_GROUP");
        if (!group.members.some((m) => m.userId === userId)) throw new CliError("NOT_A_MEMBER");
        return { group: { id: group.id, name: group.name, closed: false }, members: group.members.map((m) => ({ ...m })) };
      },
      gsend: async (msg) => {
        this.groupMessages.push({ id: msg.id, from: userId, group: msg.group, body: new Uint8Array(msg.body) });
        const group = [...this.groups.values()].find((g) => g.id === msg.group);
        if (!group || !group.members.some((m) => m.userId === userId)) return;
        for (const m of group.members) {
          if (m.userId === userId || this.storedIds.has(`${msg.id}:${m.userId}`)) continue;
          this.storedIds.add(`${msg.id}:${m.userId}`);
          this.deliver(m.userId, {
            v: 1, id: msg.id, from: userId, fromName: this.user(userId).username, body: new Uint8Array(msg.body), sentAt: Date.now(),
            group: { id: group.id, name: group.name },
          });
        }
      },
    };
  }

  private tell(group: Group, kind: GroupEvent["kind"], who: string, by: string, also: string[] = []): void {
    const [user, actor] = [this.user(who), this.user(by)];
    const event: GroupEvent = { kind, group: { id: group.id, name: group.name }, user: { id: user.userId, name: user.username }, by: { id: actor.userId, name: actor.username } };
    const id = randomUUID();
    for (const to of new Set([...group.members.map((m) => m.userId), ...also])) {
      this.deliver(to, { v: 1, id, from: actor.userId, fromName: actor.username, body: new Uint8Array(0), sentAt: Date.now(), event });
    }
  }

  private deliver(to: string, msg: InboxMessage): void {
    const box = this.inboxes.get(to) ?? [];
    box.push(msg);
    this.inboxes.set(to, box);
  }

  private member(user: User, role: Member["role"]): Member {
    return { userId: user.userId, username: user.username, role, joinedAt: ++this.joinedClock };
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

  private group(name: string): Group {
    const group = this.groups.get(foldName(name));
    if (!group) throw new Error(`no group ${name} here`);
    return group;
  }
}
