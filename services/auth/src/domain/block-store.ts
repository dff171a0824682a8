/** Who blocks whom. A block is one-way; its effects (presence, profiles) apply both ways. */
export interface BlockStore {
  /** Records that `blocker` blocks `blocked`; false when it already did. */
  block(blocker: string, blocked: string, at: number): Promise<boolean>;
  /** Removes the block; false when there was none. */
  unblock(blocker: string, blocked: string): Promise<boolean>;
  /** The users `userId` blocks and the users who block `userId`. */
  blocksOf(userId: string): Promise<{ blocking: string[]; blockedBy: string[] }>;
  /** Whether either user blocks the other. */
  eitherBlocks(a: string, b: string): Promise<boolean>;
}
