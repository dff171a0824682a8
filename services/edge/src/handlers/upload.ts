import { NatterError } from "@natter/protocol";

interface Chunk {
  readonly requestId: number;
  readonly data: Uint8Array;
  readonly last: boolean;
}

/**
 * One file coming in as chunk frames, handed to the store as a stream that pulls one
 * chunk at a time. A chunk is answered when the store takes it, so a client with a
 * small window of chunks in flight never makes the edge hold more than that window.
 */
export class Upload {
  readonly stream: ReadableStream<Uint8Array>;
  private readonly queue: Chunk[] = [];
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private received = 0;
  private ended = false;
  /** The request of the last chunk, answered once the whole file is stored. */
  lastRequestId: number | undefined;

  constructor(
    readonly size: number,
    /** Runs when the store has taken a chunk that is not the last. */
    private readonly onTaken: (requestId: number) => void,
  ) {
    this.stream = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        while (this.queue.length === 0 && !this.failure) await new Promise<void>((wake) => (this.wake = wake));
        if (this.failure) return controller.error(this.failure);
        const chunk = this.queue.shift()!;
        controller.enqueue(chunk.data);
        if (chunk.last) controller.close();
        else this.onTaken(chunk.requestId);
      },
    }, { highWaterMark: 0 });
  }

  /** Queues a chunk; throws when it would pass the announced size or follows the last one. */
  offer(requestId: number, data: Uint8Array, last: boolean): void {
    if (this.ended) throw new NatterError("BAD_FRAME", "the upload has already ended");
    this.received += data.byteLength;
    if (this.received > this.size) throw new NatterError("FILE_TOO_LARGE", "the upload is larger than announced");
    if (last && this.received !== this.size) throw new NatterError("BAD_FRAME", "the upload ended before its announced size");
    this.ended = last;
    if (last) this.lastRequestId = requestId;
    this.queue.push({ requestId, data, last });
    this.wake?.();
  }

  /** Requests not yet answered: chunks still queued, and the last one. */
  unanswered(): number[] {
    const ids = this.queue.filter((c) => !c.last).map((c) => c.requestId);
    return this.lastRequestId === undefined ? ids : [...ids, this.lastRequestId];
  }

  /** Fails the stream, so the store drops whatever it had written. */
  abort(reason: string): void {
    this.failure ??= new Error(reason);
    this.wake?.();
  }
}
