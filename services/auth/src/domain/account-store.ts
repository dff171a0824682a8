import type { PrekeyBundle, PublicBundle, SignedPrekey } from "@natter/protocol";

export interface Account {
  id: string;
  username: string;
  passwordHash: string;
  failedLogins: number;
  /** Milliseconds since the epoch, when a lock is or was set. */
  lockedUntil: number | undefined;
}

export interface NewAccount {
  id: string;
  username: string;
  passwordHash: string;
  bundle: PublicBundle;
  backup: string;
  createdAt: number;
}

export interface PublicIdentity {
  userId: string;
  username: string;
  identityKey: string;
}

export interface ClaimedBundle {
  userId: string;
  username: string;
  bundle: PrekeyBundle;
}

/** Accounts, their login counters, device keys, one-time prekeys and key backups. */
export interface AccountStore {
  /** Stores the account with its keys and backup; "taken" when the username exists. */
  create(account: NewAccount): Promise<"created" | "taken">;
  findByName(username: string): Promise<Account | undefined>;
  /** Counts one more consecutive failed login and returns the count. */
  recordFailure(userId: string): Promise<number>;
  /** Locks logins until `until` and starts the failure count again. */
  lock(userId: string, until: number): Promise<void>;
  /** After a successful login: no failures, no lock. */
  resetFailures(userId: string): Promise<void>;
  publicIdentity(username: string): Promise<PublicIdentity | undefined>;
  /**
   * The user's bundle with one one-time prekey, which is removed atomically so no two
   * claims ever get the same one; without `oneTimePrekey` when none are left.
   */
  claimBundle(username: string): Promise<ClaimedBundle | undefined>;
  /**
   * Adds (or replaces by id) one-time prekeys, after dropping every unused one when
   * `replace`; returns how many the user has, undefined for no such user.
   */
  addPrekeys(userId: string, keys: readonly SignedPrekey[], replace?: boolean): Promise<number | undefined>;
  /** false when there is no such user. */
  putBackup(userId: string, backup: string, at: number): Promise<boolean>;
  getBackup(userId: string): Promise<string | undefined>;
}
