/** A member as the group's verified chain makes them. */
export interface CurrentMember {
  userId: string;
  /** What tells this membership from an earlier one: the seq of the change that made them a member. */
  joinedAt: number;
}

/** What this device knows of its own sender key in a group. */
export interface SenderKeyState {
  /** Whether I have a sender key for the group at all. */
  hasKey: boolean;
  /** Who my current key went to: user id → `joinedAt` of their membership at the time. */
  sentTo: Readonly<Record<string, number>>;
  /** A `left` or `removed` event was seen since the key was made. */
  rotate: boolean;
}

export interface SendPlan {
  /** Make a new sender key before sending (a fresh one when there was none). */
  newKey: boolean;
  /** Members who must get my (new or current) key over their 1:1 session first. */
  distributeTo: string[];
}

/**
 * Decides what a group send needs. A new key when there is none, when a member left or
 * was removed (an event said so), or when anyone my key went to is no longer a member —
 * or is a member again after leaving (a different `joinedAt`): whoever held the old key
 * must not read what comes next. Then everyone else but me who lacks the current key gets
 * it; a member added later gets it at its present chain position, so they read nothing older.
 */
export function planGroupSend(state: SenderKeyState, members: readonly CurrentMember[], me: string): SendPlan {
  const now = new Map(members.map((m) => [m.userId, m.joinedAt]));
  const someoneGone = Object.entries(state.sentTo).some(([userId, joinedAt]) => now.get(userId) !== joinedAt);
  const newKey = !state.hasKey || state.rotate || someoneGone;
  const distributeTo = members
    .filter((m) => m.userId !== me && (newKey || state.sentTo[m.userId] !== m.joinedAt))
    .map((m) => m.userId);
  return { newKey, distributeTo: [...new Set(distributeTo)] };
}
