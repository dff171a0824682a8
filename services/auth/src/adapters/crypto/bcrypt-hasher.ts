import { hash, verify } from "@node-rs/bcrypt";
import type { PasswordHasher } from "../../domain/password-hasher.ts";

/** bcrypt (random salt per password) at the configured cost. */
export class BcryptHasher implements PasswordHasher {
  constructor(private readonly cost: number) {}

  hash(password: string): Promise<string> {
    // The domain refuses passwords over 72 bytes before this; refuse here too rather than cut.
    return hash(password, { cost: this.cost, rejectLongPasswords: true });
  }

  verify(password: string, encoded: string): Promise<boolean> {
    return verify(password, encoded);
  }
}
