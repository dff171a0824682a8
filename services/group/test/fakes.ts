import { NatterError, type GroupSummary, type InboxMessage } from "@natter/protocol";
import type { Change } from "../src/domain/changes.ts";
import type { GroupState, Member, User } from "../src/domain/group-state.ts";
import type { GroupStore, InboxPublisher, NoticeRelay, Plan, UserDirectory } from "../src/domain/ports.ts";
import type { Notice } from "../src/domain/group-state.ts";

/** Groups in memory, written only through the changes a plan lists. */
export class MemoryGroupStore implements GroupStore {
  readonly groups = new Map<string, GroupState>();
  readonly outbox: Notice[] = [];

  async update<T>(name: string, decide: (current: GroupState | undefined) => Plan<T>): Promise<T> {
    const plan = decide(this.groups.get(name));
    for (const change of plan.changes) this.apply(name, change);
    this.outbox.push(...plan.notices);
    return plan.result;
  }

  async find(name: string): Promise<GroupState | undefined> {
    return this.groups.get(name);
  }

  async list(): Promise<GroupSummary[]> {
    return [...this.groups.values()]
      .map((g) => ({ id: g.id, name: g.name, closed: g.closed, members: g.members.length }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async recipients(groupId: string): Promise<{ name: string; memberIds: string[] } | undefined> {
    const group = [...this.groups.values()].find((g) => g.id === groupId);
    return group && { name: group.name, memberIds: group.members.map((m) => m.userId) };
  }

  private apply(name: string, change: Change): void {
    const edit = (fn: (g: GroupState) => GroupState) => {
      const g = this.groups.get(name);
      if (!g || g.id !== ("groupId" in change ? change.groupId : "")) throw new Error(`change to a missing group: ${change.op}`);
      this.groups.set(name, fn(g));
    };
    const members = (fn: (ms: readonly Member[]) => Member[]) => edit((g) => ({ ...g, members: fn(g.members) }));
    switch (change.op) {
      case "insertGroup":
        if (this.groups.has(name)) throw new Error("duplicate group");
        this.groups.set(name, { ...change.group, members: [] });
        return;
      case "deleteGroup":
        edit((g) => g);
        this.groups.delete(name);
        return;
      case "setClosed":
        edit((g) => ({ ...g, closed: change.closed }));
        return;
      case "addMember":
        members((ms) => {
          if (ms.some((m) => m.userId === change.member.userId)) throw new Error("duplicate member");
          return [...ms, change.member];
        });
        return;
      case "removeMember":
        members((ms) => ms.filter((m) => m.userId !== change.userId));
        return;
      case "setRole":
        members((ms) => ms.map((m) => (m.userId === change.userId ? { ...m, role: change.role } : m)));
        return;
    }
  }
}

export class FakeDirectory implements UserDirectory {
  readonly users = new Map<string, User>();

  constructor(names: readonly string[]) {
    names.forEach((username, i) => this.users.set(username, { userId: fakeId(i + 1), username }));
  }

  async resolve(username: string): Promise<User> {
    const user = this.users.get(username);
    if (!user) throw new NatterError("NO_SUCH_USER");
    return user;
  }

  get(username: string): User {
    const user = this.users.get(username);
    if (!user) throw new Error(`no test user ${username}`);
    return user;
  }
}

export class CountingRelay implements NoticeRelay {
  flushes = 0;
  async flush(): Promise<void> {
    this.flushes += 1;
  }
}

export class RecordingInbox implements InboxPublisher {
  readonly copies: Array<{ to: string; message: InboxMessage }> = [];
  failNext = false;
  /** Recipients whose inbox is full: they get no copy. */
  readonly full = new Set<string>();

  async publish(message: InboxMessage, recipients: readonly string[]): Promise<{ full: string[] }> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error("JetStream unavailable");
    }
    this.copies.push(...recipients.filter((to) => !this.full.has(to)).map((to) => ({ to, message })));
    return { full: recipients.filter((to) => this.full.has(to)) };
  }
}

/** A valid uuid v4 whose last digits are `n`. */
export function fakeId(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
}
