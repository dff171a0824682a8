/** Attempts per client address, shared by every replica. */
export interface AttemptStore {
  /** Counts one attempt from `addr` in the window starting at `windowStart`; returns the window's count. */
  hit(addr: string, windowStart: number): Promise<number>;
}
