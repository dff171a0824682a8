import type { InboxMessage } from "@natter/protocol";
import type { Connection } from "./connection.ts";
import type { Link } from "./link.ts";
import type { Messenger } from "./messenger.ts";
import type { Printer } from "./output.ts";

/**
 * Handles deliveries one at a time, in the order they came: decrypt and store, show,
 * then ack (so a crash before the ack means a redelivery, which the shown ids absorb).
 */
export class Receiver {
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;
  private refill: Promise<unknown> | undefined;
  private idleWaiters: Array<() => void> = [];
  /** Called whenever a delivery arrives (receive --wait restarts its quiet timer). */
  onActivity: () => void = () => undefined;

  constructor(
    private readonly messenger: Messenger,
    private readonly printer: Printer,
    private readonly link: () => Link,
  ) {}

  /** For `LinkOptions.onDeliver`. */
  readonly push = (msg: InboxMessage, connection: Connection): void => {
    this.pending++;
    this.onActivity();
    this.queue = this.queue.then(() => this.handle(msg, connection)).finally(() => {
      this.pending--;
      if (this.pending === 0) for (const w of this.idleWaiters.splice(0)) w();
    });
  };

  /** Resolves once every delivery so far is handled (and a prekey top-up finished). */
  async idle(): Promise<void> {
    if (this.pending > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await this.refill;
  }

  private async handle(msg: InboxMessage, connection: Connection): Promise<void> {
    try {
      const outcome = await this.messenger.receive(msg);
      if (outcome.kind === "message") this.printer.message(outcome.message);
      this.link().ack(msg.id, connection);
      if (outcome.kind !== "duplicate" && outcome.newSession) this.topUpPrekeys();
    } catch (err) {
      // Not acked: it comes again on the next connection.
      this.printer.error(err);
    }
  }

  private topUpPrekeys(): void {
    if (this.refill) return;
    // A failed top-up is retried after the next new session; it never blocks messages.
    this.refill = this.messenger.refillPrekeys().catch(() => undefined).finally(() => (this.refill = undefined));
  }
}
