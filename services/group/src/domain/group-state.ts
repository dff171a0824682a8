import type { GroupRole, InboxMessage } from "@natter/protocol";

/** A user as the group service knows them: id and (cached) username. */
export interface User {
  readonly userId: string;
  readonly username: string;
}

export interface Member extends User {
  readonly role: GroupRole;
  /** Milliseconds since the epoch. */
  readonly joinedAt: number;
}

/** A group and its members, in the order they joined (earliest first). */
export interface GroupState {
  readonly id: string;
  readonly name: string;
  readonly closed: boolean;
  readonly createdAt: number;
  readonly members: readonly Member[];
}

/** One inbox message (a membership event) for each of `recipients`. */
export interface Notice {
  readonly recipients: readonly string[];
  readonly message: InboxMessage;
}

/**
 * What a decision does to a group: its state afterwards (`deleted` when the last member
 * left) and the events to tell the members.
 */
export interface Transition {
  readonly group: GroupState;
  readonly deleted: boolean;
  readonly notices: readonly Notice[];
}

export function findMember(group: GroupState, userId: string): Member | undefined {
  return group.members.find((m) => m.userId === userId);
}
