import type { PublicJwk } from "@natter/protocol";

/** What an access token says about its holder. */
export interface AccessClaims {
  userId: string;
  username: string;
  sid: string;
}

/** Signs short-lived access tokens and publishes the keys that verify them. */
export interface TokenIssuer {
  /** Returns the token and when it expires, in seconds since the epoch. */
  issue(claims: AccessClaims, nowMs: number): Promise<{ token: string; expiresAt: number }>;
  publicKeys(): PublicJwk[];
}
