/** Users' encrypted profiles: ciphertext the server can neither read nor check. */
export interface ProfileStore {
  /** Replaces the user's profile; false when there is no such user. */
  put(userId: string, blob: string, at: number): Promise<boolean>;
  /** The user's profile, null when they have none, undefined when there is no such user. */
  get(userId: string): Promise<string | null | undefined>;
}
