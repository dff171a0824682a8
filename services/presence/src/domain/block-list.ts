/** Who is hidden from whom: auth keeps the blocks. */
export interface BlockList {
  /** The users `userId` blocks and those who block `userId`; presence hides both. */
  hiddenFrom(userId: string): Promise<ReadonlySet<string>>;
}
