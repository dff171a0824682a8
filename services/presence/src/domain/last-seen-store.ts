import type { SeenUser } from "./online-view.ts";

/** When each user was last seen online, shared by every replica. */
export interface LastSeenStore {
  /** Keeps the later of the stored and the given time for each user. */
  record(seen: readonly SeenUser[]): Promise<void>;
  /** Users last seen at or after `since`. */
  seenSince(since: number): Promise<SeenUser[]>;
}
