export interface NewSession {
  sid: string;
  userId: string;
  refreshHash: string;
  createdAt: number;
  refreshExpiresAt: number;
}

/** Login sessions and their (hashed) refresh tokens. */
export interface SessionStore {
  create(session: NewSession): Promise<void>;
  /**
   * Swaps a live, unexpired refresh token for a new one; returns the session's owner,
   * or undefined when the old token is unknown, already rotated, expired or revoked.
   */
  rotate(oldHash: string, newHash: string, now: number, refreshExpiresAt: number): Promise<{ sid: string; userId: string; username: string } | undefined>;
  revoke(sid: string, now: number): Promise<void>;
  isActive(sid: string, now: number): Promise<boolean>;
}
