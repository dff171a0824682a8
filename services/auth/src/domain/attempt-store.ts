/** One client address's failed logins to one username. */
export interface PairState {
  /** Failures in a row (each attempt counts until it succeeds). */
  failures: number;
  lockedUntil: number | undefined;
  /** When a login from this address to this username first succeeded. */
  knownSince: number | undefined;
}

/** One username's failed logins from every address. */
export interface AccountState {
  failures: number;
  /** Addresses not known to the account wait until then. */
  notBefore: number | undefined;
  lastFailureAt: number | undefined;
}

export interface LoginState {
  pair: PairState;
  account: AccountState;
}

/** Attempts per client address, and login failures per username and address, shared by every replica. */
export interface AttemptStore {
  /** Counts one attempt from `addr` in the window starting at `windowStart`; returns the window's count. */
  hit(addr: string, windowStart: number): Promise<number>;
  /**
   * Reads the login state of (`username`, `addr`) — a fresh one when there is none — lets
   * `decide` change it, and stores what it returns, as one atomic step: concurrent logins
   * to one username are decided one after another, never from the same reading.
   */
  updateLogin<T>(username: string, addr: string, now: number, decide: (state: LoginState) => { state: LoginState; result: T }): Promise<T>;
}
