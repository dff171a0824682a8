import { NatterError } from "@natter/protocol";
import { secondsUntil } from "./login-policy.ts";

/**
 * How many prekey bundles may be claimed in a window: a claimer in all, a claimer of one
 * target (both refused past the limit), and of one target by everyone (past that, bundles
 * come without a one-time prekey, so nobody can drain a user's prekeys or keep others out).
 */
export interface ClaimPolicy {
  claimerLimit: number;
  pairLimit: number;
  targetPrekeyLimit: number;
  claimWindowMs: number;
}

export const DEFAULT_CLAIM_POLICY: ClaimPolicy = { claimerLimit: 500, pairLimit: 10, targetPrekeyLimit: 100, claimWindowMs: 3_600_000 };

/** Counters in fixed windows, shared by replicas. */
export interface ClaimCounter {
  /** Counts one more claim under `key` in the window starting at `windowStart`; returns the count. */
  hit(key: string, windowStart: number): Promise<number>;
}

/**
 * Counts a claim of `target` (a username) by `claimer` (a user id): RATE_LIMITED past the
 * claimer's or the pair's limit; otherwise whether the bundle may carry a one-time prekey.
 */
export async function countClaim(counter: ClaimCounter, policy: ClaimPolicy, claimer: string, target: string, now: number): Promise<{ oneTimePrekey: boolean }> {
  const start = now - (now % policy.claimWindowMs);
  const refuse = () => new NatterError("RATE_LIMITED", undefined, { detail: { retryAfter: secondsUntil(start + policy.claimWindowMs, now) } });
  if ((await counter.hit(`claimer:${claimer}`, start)) > policy.claimerLimit) throw refuse();
  if ((await counter.hit(`pair:${claimer}:${target}`, start)) > policy.pairLimit) throw refuse();
  return { oneTimePrekey: (await counter.hit(`target:${target}`, start)) <= policy.targetPrekeyLimit };
}
