/**
 * Holds NATS work back to the end of this turn of the event loop, so that what the edge
 * publishes while handling one round of socket reads leaves in one write. nats.js
 * writes out once per microtask checkpoint, and every client socket's data event is a
 * checkpoint of its own: without this, each send and each ack would be a system call at
 * the edge and a read at the NATS server.
 */
export class TurnBatch {
  private queued: Array<() => void> = [];
  private turn: Promise<void> | undefined;

  /** Runs `work` at the end of this turn, with everything else deferred in it. */
  defer(work: () => void): void {
    if (this.queued.length === 0) setImmediate(this.run);
    this.queued.push(work);
  }

  /** Resolves at the end of this turn, together with every other waiter of the turn. */
  end(): Promise<void> {
    return (this.turn ??= new Promise((resolve) => this.defer(resolve)));
  }

  private readonly run = (): void => {
    const work = this.queued;
    this.queued = [];
    this.turn = undefined;
    for (const item of work) item();
  };
}
