/** A token bucket: `rate` tokens a second, holding at most `burst`. The clock is injected. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Spends `n` tokens taken elsewhere (another edge), going into debt down to minus the burst. */
  spend(n: number): void {
    this.refill();
    this.tokens = Math.max(-this.burst, this.tokens - n);
  }

  /** True when the bucket holds its whole burst: forgetting it changes nothing. */
  full(): boolean {
    this.refill();
    return this.tokens >= this.burst;
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
  }
}
