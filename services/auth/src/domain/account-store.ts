import type { PrekeyBundle, PublicBundle, SignedPrekey } from "@natter/protocol";

export interface Account {
  id: string;
  username: string;
  passwordHash: string;
  /** The salt the client stretches the password under; undefined for an account made before salts. */
  salt: string | undefined;
}

export interface NewAccount {
  id: string;
  username: string;
  salt: string;
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

/** One-time prekeys to add: curve (X25519) ones and ML-KEM-768 ones. */
export interface PrekeyUpload {
  curve: readonly SignedPrekey[];
  kem: readonly SignedPrekey[];
}

/** How many unclaimed one-time prekeys a user has, of each kind, and whether a last-resort KEM prekey is stored. */
export interface PrekeyCounts {
  count: number;
  kemCount: number;
  kemLastResort: boolean;
}

/** Accounts, their device keys, one-time prekeys (curve and KEM) and key backups. */
export interface AccountStore {
  /** Stores the account with its keys and backup; "taken" when the username exists. */
  create(account: NewAccount): Promise<"created" | "taken">;
  findByName(username: string): Promise<Account | undefined>;
  findById(userId: string): Promise<Account | undefined>;
  /** A new password: salt, hash of the new login secret and the backup sealed again, at once; false for no such user. */
  changePassword(userId: string, change: { salt: string; passwordHash: string; backup: string; at: number }): Promise<boolean>;
  publicIdentity(username: string): Promise<PublicIdentity | undefined>;
  /**
   * The user's bundle with one one-time prekey and one one-time KEM prekey, each removed
   * atomically so no two claims ever get the same one; without either when none of its kind
   * is left or `withOneTimePrekey` is false (the last-resort KEM prekey is always in it when
   * the user has published one).
   */
  claimBundle(username: string, withOneTimePrekey?: boolean): Promise<ClaimedBundle | undefined>;
  /**
   * Adds (or replaces by id) one-time prekeys of both kinds, after dropping every unused one
   * when `replace`; returns how many the user has, undefined for no such user.
   */
  addPrekeys(userId: string, keys: PrekeyUpload, replace?: boolean): Promise<PrekeyCounts | undefined>;
  /** Replaces the user's signed prekey, and the last-resort KEM prekey when given; false when there is no such user. */
  setSignedPrekey(userId: string, key: SignedPrekey, at: number, kemLastResort?: SignedPrekey): Promise<boolean>;
  /** false when there is no such user. */
  putBackup(userId: string, backup: string, at: number): Promise<boolean>;
  getBackup(userId: string): Promise<string | undefined>;
}
