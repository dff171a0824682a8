import { TokenBucket } from "./token-bucket.ts";

/** How much an edge lets connections that have not logged in hold. */
export interface AdmissionLimits {
  /** Connections not yet logged in, from one address. */
  readonly perAddress: number;
  /** Connections not yet logged in, from everywhere. */
  readonly total: number;
  /** Frames a second one address may send before login (hello, register, login, resume, refresh), burst twice this. */
  readonly preLoginRate: number;
}

/**
 * Who may connect, and speak, before logging in: a connection counts against its
 * address and the edge until it logs in or closes, and frames before login spend a token
 * bucket of the address, so neither many idle connections nor fast guessing on a few
 * costs the edge more than these limits.
 */
export class Admission {
  private readonly waiting = new Map<string, number>();
  private waitingTotal = 0;
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly limits: AdmissionLimits, private readonly now: () => number = Date.now) {}

  /** Counts a new connection from `address`; false (and nothing counted) when it is one too many. */
  admit(address: string): boolean {
    const fromThere = this.waiting.get(address) ?? 0;
    if (fromThere >= this.limits.perAddress || this.waitingTotal >= this.limits.total) return false;
    this.waiting.set(address, fromThere + 1);
    this.waitingTotal += 1;
    return true;
  }

  /** A counted connection logged in or closed before it did: it no longer counts. */
  release(address: string): void {
    const fromThere = this.waiting.get(address);
    if (fromThere === undefined) return;
    if (fromThere <= 1) this.waiting.delete(address);
    else this.waiting.set(address, fromThere - 1);
    this.waitingTotal -= 1;
  }

  /** Spends a token of the address for a frame before login; false when it speaks too fast. */
  preLoginFrame(address: string): boolean {
    let bucket = this.buckets.get(address);
    if (!bucket) {
      bucket = new TokenBucket(this.limits.preLoginRate, this.limits.preLoginRate * 2, this.now);
      this.buckets.set(address, bucket);
    }
    return bucket.take();
  }

  /** Forgets the buckets that are full again (run now and then). */
  sweep(): void {
    for (const [address, bucket] of this.buckets) if (bucket.full()) this.buckets.delete(address);
  }

  /** Connections counted now, not yet logged in. */
  get waitingConnections(): number {
    return this.waitingTotal;
  }
}
