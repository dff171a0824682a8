import { generateKeyPairSync } from "node:crypto";
import { createPrimitives, fromBase64url, makeEntry, parseEntry, toBase64url, validateChain, type ChainMemberRef, type ChainOp, type ChainState } from "@natter/crypto";
import { NatterError, type GroupSummary, type InboxMessage } from "@natter/protocol";
import type { Change } from "../src/domain/changes.ts";
import type { GroupState, Member, User } from "../src/domain/group-state.ts";
import type { ChainPage, GroupStore, InboxPublisher, KeyedUser, NoticeRelay, Plan, UserDirectory } from "../src/domain/ports.ts";
import type { Notice } from "../src/domain/group-state.ts";

/** Groups in memory, written only through the changes a plan lists. */
export class MemoryGroupStore implements GroupStore {
  readonly groups = new Map<string, GroupState>();
  /** Each group's chain by name: entries with their hashes, oldest first. */
  readonly chains = new Map<string, Array<{ seq: number; hash: string; entry: string }>>();
  readonly outbox: Notice[] = [];

  async update<T>(name: string, decide: (current: GroupState | undefined, chain: readonly string[]) => Promise<Plan<T>>): Promise<T> {
    const plan = await decide(this.groups.get(name), (this.chains.get(name) ?? []).map((e) => e.entry));
    for (const change of plan.changes) this.apply(name, change);
    if (!this.groups.has(name)) this.chains.delete(name);
    else if (plan.append) this.chains.set(name, [...(this.chains.get(name) ?? []), plan.append]);
    this.outbox.push(...plan.notices);
    return plan.result;
  }

  async chain(name: string, after: number, maxChars: number): Promise<ChainPage | undefined> {
    const group = this.groups.get(name);
    const chain = this.chains.get(name);
    const head = chain?.at(-1);
    if (!group || !chain || !head) return undefined;
    const rest = chain.filter((e) => e.seq > after).map((e) => e.entry);
    const page: string[] = [];
    let size = 0;
    for (const e of rest) {
      if (page.length > 0 && size + e.length > maxChars) break;
      page.push(e);
      size += e.length;
    }
    return { group: { id: group.id, name }, head: { seq: head.seq, hash: head.hash }, entries: page, more: page.length < rest.length };
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

/** A test user with an Ed25519 identity key pair, as their client holds it. */
export interface TestUser extends KeyedUser {
  readonly seed: Uint8Array;
}

/** A fresh identity key pair: the public key and the seed, raw. */
export function identityKeys(): { identityKey: string; seed: Uint8Array } {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const pub = publicKey.export({ format: "jwk" });
  const priv = privateKey.export({ format: "jwk" });
  return { identityKey: pub.x!, seed: fromBase64url(priv.d!) };
}

export class FakeDirectory implements UserDirectory {
  readonly users = new Map<string, TestUser>();

  constructor(names: readonly string[], ids: (i: number) => string = (i) => fakeId(i + 1)) {
    names.forEach((username, i) => this.users.set(username, { userId: ids(i), username, ...identityKeys() }));
  }

  async resolve(username: string): Promise<KeyedUser> {
    const user = this.users.get(username);
    if (!user) throw new NatterError("NO_SUCH_USER");
    return { userId: user.userId, username: user.username, identityKey: user.identityKey };
  }

  get(username: string): TestUser {
    const user = this.users.get(username);
    if (!user) throw new Error(`no test user ${username}`);
    return user;
  }

  /** A user as a chain entry names them. */
  ref(username: string): ChainMemberRef {
    const { userId, identityKey } = this.get(username);
    return { userId, username, identityKey };
  }
}

/**
 * Signs group changes as the users' clients do: each entry on top of the chain as it is
 * given (the store's, or any other), by the user's own key.
 */
export class FakeSigners {
  readonly p = createPrimitives();

  constructor(private readonly users: FakeDirectory) {}

  /** The state a chain makes (undefined for none); throws when it does not validate. */
  async state(entries: readonly string[]): Promise<ChainState | undefined> {
    if (entries.length === 0) return undefined;
    const r = await validateChain(this.p, entries);
    if (!r.ok) throw new Error(`the chain does not validate: ${r.code}`);
    return r.value;
  }

  /** `username`'s signed entry for `op` on top of `entries`. */
  async sign(username: string, entries: readonly string[], op: ChainOp, at = Date.now()): Promise<string> {
    const user = this.users.get(username);
    return makeEntry(this.p, user.seed, await this.state(entries), user.userId, op, at);
  }

  /** An open group's genesis: `creator` its admin, `others` its members. */
  genesis(creator: string, name: string, others: readonly string[] = []): ChainOp {
    return {
      type: "genesis", name, open: true, nonce: toBase64url(this.p.randomBytes(16)),
      members: [{ ...this.users.ref(creator), admin: true }, ...others.map((o) => ({ ...this.users.ref(o), admin: false }))],
    };
  }

  /** The hash of an entry. */
  async hash(entry: string): Promise<string> {
    const r = await parseEntry(this.p, entry);
    if (!r.ok) throw new Error(r.code);
    return r.value.hash;
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
