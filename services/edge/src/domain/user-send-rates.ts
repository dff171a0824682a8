import { TokenBucket } from "./token-bucket.ts";

/**
 * The send rate of each user across all of their connections: one token bucket per user
 * on this edge (`rate` a second, burst twice that), kept only while the user has sent
 * lately. Other edges' spending arrives in coarse steps (see `spentElsewhere`), so a user
 * spread over several edges is held to about the same rate, without a NATS round trip on
 * any send.
 */
export class UserSendRates {
  private readonly buckets = new Map<string, TokenBucket>();
  /** Tokens taken here since the last `takeUsage`, to tell the other edges. */
  private used = new Map<string, number>();

  constructor(private readonly rate: number, private readonly now: () => number = Date.now) {}

  /** Spends one of the user's tokens; false when they are sending too fast. */
  take(userId: string): boolean {
    if (!this.bucket(userId).take()) return false;
    this.used.set(userId, (this.used.get(userId) ?? 0) + 1);
    return true;
  }

  /**
   * Another edge reports what the user spent there: charged here too, so that the user's
   * next sends here meet the same bucket. It is forgotten once it has filled again.
   */
  spentElsewhere(userId: string, tokens: number): void {
    this.bucket(userId).spend(tokens);
  }

  /** What was spent here since the last call, and forgets the users whose buckets are full again. */
  takeUsage(): Array<[string, number]> {
    const usage = [...this.used];
    this.used = new Map();
    for (const [userId, bucket] of this.buckets) if (bucket.full()) this.buckets.delete(userId);
    return usage;
  }

  private bucket(userId: string): TokenBucket {
    let bucket = this.buckets.get(userId);
    if (!bucket) {
      bucket = new TokenBucket(this.rate, this.rate * 2, this.now);
      this.buckets.set(userId, bucket);
    }
    return bucket;
  }

  /** Users with a bucket here now. */
  get size(): number {
    return this.buckets.size;
  }
}
