/**
 * The salts clients stretch passwords under. An account's salt is the client's, stored at
 * register and at a password change; for a name nobody has, auth answers a salt derived
 * from a server secret and the name, stable across asks and replicas, so the answer does
 * not tell whether the account exists.
 */
export interface PasswordSalts {
  /** The made-up salt for `username` (folded), 16 bytes base64url. */
  fakeSalt(username: string): string;
}
