/** Fresh ids and refresh tokens, and the one-way digest refresh tokens are stored as. */
export interface Secrets {
  newId(): string;
  /** A random refresh token (32 bytes, base64url). */
  newRefreshToken(): string;
  /** The SHA-256 of a refresh token, the only form in which it is stored. */
  digest(refreshToken: string): string;
}
