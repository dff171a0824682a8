import { NatterError } from "@natter/protocol";
import type { LoginState } from "./attempt-store.ts";

export interface LoginPolicy {
  /** Failures in a row from one address that lock that address out of one account. */
  maxFailures: number;
  lockMs: number;
  /**
   * Failures of one account, from every address, after which an address that has never
   * logged in to it waits a growing delay between attempts. Addresses the owner has logged
   * in from never wait for it, so a stranger cannot keep the owner out.
   */
  accountDelayAfter: number;
  /** The first such delay; it doubles with every further failure, up to `accountMaxDelayMs`. */
  accountDelayMs: number;
  accountMaxDelayMs: number;
  /** After this long without a failure the account's count starts again. */
  accountQuietMs: number;
  /** Attempts allowed per client address per window. */
  addrLimit: number;
  addrWindowMs: number;
}

export const DEFAULT_LOGIN_POLICY: LoginPolicy = {
  maxFailures: 3,
  lockMs: 60_000,
  accountDelayAfter: 10,
  accountDelayMs: 1_000,
  accountMaxDelayMs: 5 * 60_000,
  accountQuietMs: 24 * 3_600_000,
  addrLimit: 30,
  addrWindowMs: 60_000,
};

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

/** Whether a login attempt may check its password, and until when it may not. */
export type Admission = { admitted: true } | { admitted: false; until: number };

/**
 * Decides one login attempt of a (username, address) before any password is checked, and
 * counts it as a failure at once: the hash is checked only after the count is stored, so
 * concurrent guesses never get more checks than the limit. A success takes it back
 * ({@link loginSucceeded}). Usernames nobody has are counted the same way, so the answers
 * do not tell an existing account from a missing one.
 */
export function admitLogin(state: LoginState, now: number, policy: LoginPolicy): { state: LoginState; admission: Admission } {
  let pair = state.pair;
  if (pair.lockedUntil !== undefined) {
    if (pair.lockedUntil > now) return { state, admission: { admitted: false, until: pair.lockedUntil } };
    pair = { ...pair, failures: 0, lockedUntil: undefined };
  }
  let account = state.account;
  if (account.lastFailureAt !== undefined && now - account.lastFailureAt > policy.accountQuietMs) {
    account = { failures: 0, notBefore: undefined, lastFailureAt: undefined };
  }
  const known = pair.knownSince !== undefined;
  if (!known && account.notBefore !== undefined && account.notBefore > now) {
    return { state, admission: { admitted: false, until: account.notBefore } };
  }
  const pairFailures = pair.failures + 1;
  const accountFailures = account.failures + 1;
  return {
    state: {
      pair: { ...pair, failures: pairFailures, lockedUntil: pairFailures >= policy.maxFailures ? now + policy.lockMs : undefined },
      account: {
        failures: accountFailures,
        lastFailureAt: now,
        notBefore: accountFailures >= policy.accountDelayAfter ? now + accountDelay(accountFailures, policy) : account.notBefore,
      },
    },
    admission: { admitted: true },
  };
}

/** The password was right: the address is known to the account from now on, and its failures are forgotten. */
export function loginSucceeded(state: LoginState, now: number): LoginState {
  return {
    pair: { failures: 0, lockedUntil: undefined, knownSince: state.pair.knownSince ?? now },
    // Only the attempt just counted is taken back: a stranger's failures still count.
    account: { ...state.account, failures: Math.max(0, state.account.failures - 1) },
  };
}

function accountDelay(failures: number, policy: LoginPolicy): number {
  const doublings = Math.min(30, failures - policy.accountDelayAfter);
  return Math.min(policy.accountMaxDelayMs, policy.accountDelayMs * 2 ** doublings);
}
