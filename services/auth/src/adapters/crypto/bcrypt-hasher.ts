import { hash, verify } from "@node-rs/bcrypt";
import pLimit, { type LimitFunction } from "p-limit";
import { NatterError } from "@natter/protocol";
import type { PasswordHasher } from "../../domain/password-hasher.ts";

/** Hashes waiting for a turn, per hash allowed at once, before new ones are turned away. */
const QUEUE_PER_SLOT = 64;

/**
 * bcrypt (random salt per password) at the configured cost, at most `concurrency` hashes
 * at once. bcrypt runs on libuv's thread pool (four threads): unbounded, a burst of logins
 * takes every core and the event loops of this and every other process on the host wait.
 * Past a queue of QUEUE_PER_SLOT per slot, a login is answered UNAVAILABLE at once rather
 * than after a wait the client has long given up on.
 */
export class BcryptHasher implements PasswordHasher {
  private readonly limit: LimitFunction;

  constructor(private readonly cost: number, private readonly concurrency: number) {
    this.limit = pLimit(concurrency);
  }

  hash(password: string): Promise<string> {
    // The domain refuses passwords over 72 bytes before this; refuse here too rather than cut.
    return this.run(() => hash(password, { cost: this.cost, rejectLongPasswords: true }));
  }

  verify(password: string, encoded: string): Promise<boolean> {
    return this.run(() => verify(password, encoded));
  }

  private run<T>(work: () => Promise<T>): Promise<T> {
    if (this.limit.pendingCount >= QUEUE_PER_SLOT * this.concurrency) {
      return Promise.reject(new NatterError("UNAVAILABLE", "too many logins at once: try again in a moment"));
    }
    return this.limit(work);
  }
}
