import { NatterError } from "@natter/protocol";

export interface LoginPolicy {
  /** Consecutive failures that lock an account. */
  maxFailures: number;
  lockMs: number;
  /** Attempts allowed per client address per window. */
  addrLimit: number;
  addrWindowMs: number;
}

export const DEFAULT_LOGIN_POLICY: LoginPolicy = { maxFailures: 3, lockMs: 60_000, addrLimit: 30, addrWindowMs: 60_000 };

/** Whole seconds until `until`, at least 1, for `retryAfter`. */
export function secondsUntil(until: number, now: number): number {
  return Math.max(1, Math.ceil((until - now) / 1000));
}

export function accountLocked(lockedUntil: number, now: number): NatterError {
  return new NatterError("ACCOUNT_LOCKED", undefined, { detail: { retryAfter: secondsUntil(lockedUntil, now) } });
}

/** The fixed window an attempt at `now` falls in. */
export function addressWindow(now: number, policy: LoginPolicy): { start: number; end: number } {
  const start = now - (now % policy.addrWindowMs);
  return { start, end: start + policy.addrWindowMs };
}
