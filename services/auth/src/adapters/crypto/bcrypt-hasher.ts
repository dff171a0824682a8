import { hash, verify } from "@node-rs/bcrypt";
import pLimit, { type LimitFunction } from "p-limit";
import { NatterError } from "@natter/protocol";
import type { PasswordHasher } from "../../domain/password-hasher.ts";

/**
 * The longest a hash may expect to wait for its turn. Edges give auth 5 s to answer; a
 * login that would wait longer is turned away at once instead of timing out there.
 */
const MAX_WAIT_MS = 3000;

/**
 * bcrypt (random salt per password) at the configured cost, at most `concurrency` hashes
 * at once. bcrypt runs on libuv's thread pool (four threads): unbounded, a burst of logins
 * takes every core and the event loops of this and every other process on the host wait.
 * When the queue is longer than MAX_WAIT_MS of hashing (timed as they run), a login is
 * answered UNAVAILABLE at once rather than after a wait its caller has given up on.
 */
export class BcryptHasher implements PasswordHasher {
  private readonly limit: LimitFunction;
  /** Recent time one hash takes (ms), a moving average. */
  private hashMs = 0;

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
    const queued = this.limit.pendingCount + this.limit.activeCount;
    if ((queued * this.hashMs) / this.concurrency > MAX_WAIT_MS) {
      return Promise.reject(new NatterError("UNAVAILABLE", "too many logins at once: try again in a moment"));
    }
    return this.limit(async () => {
      const started = performance.now();
      try {
        return await work();
      } finally {
        const took = performance.now() - started;
        this.hashMs = this.hashMs === 0 ? took : 0.8 * this.hashMs + 0.2 * took;
      }
    });
  }
}
