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

/** Tells the edges that a session ended, so none keeps treating it as active. */
export interface SessionEndPublisher {
  /** Best effort: an edge that misses it forgets the session when its cache entry expires. */
  publish(event: { sid: string }): void;
}
