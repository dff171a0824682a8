export interface NewSession {
  sid: string;
  userId: string;
  refreshHash: string;
  createdAt: number;
  refreshExpiresAt: number;
  /** The absolute end: no refresh carries the session past it. */
  expiresAt: number;
  /** The client address it was started from. */
  addr: string;
}

/** A live session as its owner sees it. */
export interface SessionSummary {
  sid: string;
  /** Where it started, and where it was last refreshed from. */
  addr: string;
  lastAddr: string;
  startedAt: number;
  /** The last login, refresh or resume. */
  lastSeenAt: number;
  expiresAt: number;
}

/** What presenting a refresh token did. */
export type Rotation =
  | { outcome: "rotated"; sid: string; userId: string; username: string }
  /** The token was one the session had already rotated away from: the session is ended. */
  | { outcome: "reused"; sid: string }
  | { outcome: "unknown" };

/** Login sessions and their (hashed) refresh tokens. */
export interface SessionStore {
  create(session: NewSession): Promise<void>;
  /**
   * Swaps a live refresh token for a new one, atomically, and remembers the old one as
   * spent. An old token presented again ends its whole session ("reused"); a token unknown,
   * expired or of an ended session is "unknown". `refreshExpiresAt` is capped at the
   * session's absolute end.
   */
  rotate(oldHash: string, newHash: string, now: number, refreshExpiresAt: number, addr: string | undefined): Promise<Rotation>;
  revoke(sid: string, now: number): Promise<void>;
  /** Ends every live session of the user but `keep`; returns the ids it ended. */
  revokeOthers(userId: string, keep: string, now: number): Promise<string[]>;
  /** Ends the user's session `sid`; false when the user has no such live session. */
  revokeOne(userId: string, sid: string, now: number): Promise<boolean>;
  /** The user's live sessions, oldest first. */
  list(userId: string, now: number): Promise<SessionSummary[]>;
  /** Whether the session is live; a live one is seen at `now` (a device resumed it): `lastSeenAt` moves on. */
  isActive(sid: string, now: number): Promise<boolean>;
}

/** Tells the edges that a session ended, so none keeps treating it as active. */
export interface SessionEndPublisher {
  /** Best effort: an edge that misses it forgets the session when its cache entry expires. */
  publish(event: { sid: string }): void;
}
