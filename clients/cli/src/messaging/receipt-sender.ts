import { EXIT, exitCodeFor, toCliError } from "../errors.ts";

/** How many message ids one receipt names at most (the payload's limit). */
export const RECEIPT_BATCH = 100;

type Kind = "delivered" | "read";

/**
 * Receipts waiting to go, gathered per user in the order they were given, so one receipt
 * carries every message of a burst. `flush` sends each user's `delivered` before their
 * `read` over the same 1:1 session, so they arrive in that order. A receipt that cannot go
 * because the connection is down waits for the next flush; one refused (an identity change
 * waiting for `natter trust`, a user gone) is dropped: receipts are a courtesy.
 */
export class ReceiptSender {
  private readonly waiting = new Map<string, { delivered: string[]; read: string[] }>();

  constructor(private readonly send: (user: string, kind: Kind, of: string[]) => Promise<void>) {}

  add(user: string, kind: Kind, id: string): void {
    let forUser = this.waiting.get(user);
    if (!forUser) this.waiting.set(user, (forUser = { delivered: [], read: [] }));
    if (!forUser[kind].includes(id)) forUser[kind].push(id);
  }

  async flush(): Promise<void> {
    for (const [user, ids] of [...this.waiting]) {
      this.waiting.delete(user);
      for (const kind of ["delivered", "read"] as const) {
        while (ids[kind].length > 0) {
          const batch = ids[kind].slice(0, RECEIPT_BATCH);
          try {
            await this.send(user, kind, batch);
          } catch (err) {
            if (exitCodeFor(toCliError(err).code) !== EXIT.NO_SERVICE) break;
            // Down: this user's receipts, and the rest, wait for the next flush.
            for (const k of ["delivered", "read"] as const) for (const id of ids[k]) this.add(user, k, id);
            throw err;
          }
          ids[kind].splice(0, batch.length);
        }
      }
    }
  }
}
