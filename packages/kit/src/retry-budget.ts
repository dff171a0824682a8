/**
 * How many retries a process may still make: a retry budget, as Finagle's and gRPC's
 * retry throttling keep one. Each success earns a fraction of a retry (`ratio`), each
 * retry spends one, and the savings are capped, so that over any stretch retries add at
 * most about `ratio` to the load, plus what was saved before it.
 *
 * A publish tried again is another proposal the stream's leader must replicate, whether
 * or not the first is still queued there. While a cluster catches up after a node came
 * back, a steady load whose publishes time out and are each tried four more times
 * becomes up to five times that load, and the cluster stays behind for as long as it
 * lasts. With a budget the retries carry sends over a short election from what was saved;
 * past that, failures go back to the senders, who send again at their own pace.
 */
export class RetryBudget {
  private tokens: number;

  constructor(private readonly ratio = 0.2, private readonly maxTokens = 1000, reserve = 100) {
    this.tokens = Math.min(reserve, maxTokens);
  }

  /** A call succeeded: it earns part of a retry. */
  succeeded(): void {
    this.tokens = Math.min(this.maxTokens, this.tokens + this.ratio);
  }

  /** A call failed in a way worth trying again: spends a retry and answers true if one was left. */
  retry(): boolean {
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
