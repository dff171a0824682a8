import type { GroupSummary, InboxMessage } from "@natter/protocol";
import type { Change } from "./changes.ts";
import type { GroupState, Notice, User } from "./group-state.ts";

/** What one locked update of a group writes, and what it answers. */
export interface Plan<T> {
  readonly changes: readonly Change[];
  readonly notices: readonly Notice[];
  /** The signed entry that made the change, appended to the group's chain (unless the group ended). */
  readonly append?: ChainAppend;
  readonly result: T;
}

export interface ChainAppend {
  readonly groupId: string;
  readonly seq: number;
  readonly hash: string;
  readonly entry: string;
}

/** A page of a group's chain. */
export interface ChainPage {
  readonly group: { readonly id: string; readonly name: string };
  /** Seq and hash of the chain's last entry. */
  readonly head: { readonly seq: number; readonly hash: string };
  readonly entries: readonly string[];
  readonly more: boolean;
}

/** Groups, members and the usernames they were resolved with. */
export interface GroupStore {
  /**
   * Runs `decide` on the group named `name` (undefined when there is none) and its chain's
   * entries, while no other update of that name runs, then applies its changes, appends its
   * entry and records its notices for the relay, all or nothing. Whatever `decide` throws
   * is rethrown and nothing is written.
   */
  update<T>(name: string, decide: (current: GroupState | undefined, chain: readonly string[]) => Promise<Plan<T>>): Promise<T>;
  /** The entries of the group named `name` after seq `after`, at most about `maxChars` of them (at least one); undefined when there is no such group. */
  chain(name: string, after: number, maxChars: number): Promise<ChainPage | undefined>;
  find(name: string): Promise<GroupState | undefined>;
  list(): Promise<GroupSummary[]>;
  /** The group's name and member ids, for fan-out; undefined when there is no such group. */
  recipients(groupId: string): Promise<{ name: string; memberIds: readonly string[] } | undefined>;
}

/** A user with the identity key auth holds for them now. */
export interface KeyedUser extends User {
  readonly identityKey: string;
}

/** Resolves usernames to users (the auth service). Throws NO_SUCH_USER. */
export interface UserDirectory {
  resolve(username: string): Promise<KeyedUser>;
}

/** Publishes the notices recorded by the store. Never rejects: what fails is retried later. */
export interface NoticeRelay {
  flush(): Promise<void>;
}

/**
 * Stores a copy of one message in each recipient's inbox, each deduplicated by
 * `<message id>:<user id>`; resolves once every copy is durably stored, rejects if any is not.
 * Every copy is handed to NATS before `publish` returns, so the copies of messages published
 * one after another are stored in that order, acknowledged or not.
 */
export interface InboxPublisher {
  /** Stores a copy for each recipient; resolves naming those whose inbox was full and got none. */
  publish(message: InboxMessage, recipients: readonly string[]): Promise<{ readonly full: readonly string[] }>;
}
