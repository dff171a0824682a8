import type { GroupSummary, InboxMessage } from "@natter/protocol";
import type { Change } from "./changes.ts";
import type { GroupState, Notice, User } from "./group-state.ts";

/** What one locked update of a group writes, and what it answers. */
export interface Plan<T> {
  readonly changes: readonly Change[];
  readonly notices: readonly Notice[];
  readonly result: T;
}

/** Groups, members and the usernames they were resolved with. */
export interface GroupStore {
  /**
   * Runs `decide` on the group named `name` (undefined when there is none) while no other
   * update of that name runs, then applies its changes and records its notices for the
   * relay, all or nothing. Whatever `decide` throws is rethrown and nothing is written.
   */
  update<T>(name: string, decide: (current: GroupState | undefined) => Plan<T>): Promise<T>;
  find(name: string): Promise<GroupState | undefined>;
  list(): Promise<GroupSummary[]>;
  /** The group's name and member ids, for fan-out; undefined when there is no such group. */
  recipients(groupId: string): Promise<{ name: string; memberIds: readonly string[] } | undefined>;
}

/** Resolves usernames to users (the auth service). Throws NO_SUCH_USER. */
export interface UserDirectory {
  resolve(username: string): Promise<User>;
}

/** Publishes the notices recorded by the store. Never rejects: what fails is retried later. */
export interface NoticeRelay {
  flush(): Promise<void>;
}

/**
 * Stores a copy of one message in each recipient's inbox, each deduplicated by
 * `<message id>:<user id>`; resolves once every copy is durably stored, rejects if any is not.
 */
export interface InboxPublisher {
  /** Stores a copy for each recipient; resolves naming those whose inbox was full and got none. */
  publish(message: InboxMessage, recipients: readonly string[]): Promise<{ readonly full: readonly string[] }>;
}
