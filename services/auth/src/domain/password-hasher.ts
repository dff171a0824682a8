/** Slow, salted password hashing (bcrypt in production, a fake in unit tests). */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, hash: string): Promise<boolean>;
}
