import type { FileRef, InboxMessage } from "@natter/protocol";
import type { Connection } from "./transport/connection.ts";
import { EXIT, exitCodeFor, toCliError } from "./errors.ts";
import type { Link } from "./transport/link.ts";
import type { ShownMessage } from "./messaging/incoming.ts";
import type { Messenger } from "./messaging/messenger.ts";
import type { Printer, SavedFile } from "./output.ts";

/** Fetches, checks and saves a received file (files.ts `downloadFile` over the link). */
export type Downloader = (ref: FileRef) => Promise<SavedFile>;

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
    private readonly download?: Downloader,
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
      if (outcome.kind === "message") {
        if (outcome.message.content.type === "file") await this.receiveFile(outcome.message, outcome.message.content.file);
        else this.printer.message(outcome.message);
      } else if (outcome.kind === "event") {
        this.printer.event(outcome.event);
      }
      this.link().ack(msg.id, connection);
      if ((outcome.kind === "message" || outcome.kind === "dropped") && outcome.newSession) this.topUpPrekeys();
    } catch (err) {
      // Not acked: it comes again on the next connection.
      this.printer.error(err);
    }
  }

  /**
   * Saves the file, then shows the message. A file that can never arrive (expired, does not
   * decrypt, no room) is reported and settled; a dropped connection is thrown, so the
   * delivery is not acked and the download is tried again when it comes back.
   */
  private async receiveFile(m: ShownMessage, ref: FileRef): Promise<void> {
    if (!this.download) throw new Error("invariant broken: a receiver of files needs a downloader");
    try {
      this.printer.message(m, await this.download(ref));
    } catch (err) {
      const e = toCliError(err);
      if (exitCodeFor(e.code) === EXIT.NO_SERVICE) throw e;
      this.messenger.notify({ kind: "file-failed", user: m.from, id: m.id, ...(m.group === undefined ? {} : { group: m.group }), code: e.code, reason: e.message });
    }
    await this.messenger.settleFile(m.id);
  }

  private topUpPrekeys(): void {
    if (this.refill) return;
    // A failed top-up is retried after the next new session; it never blocks messages.
    this.refill = this.messenger.refillPrekeys().catch(() => undefined).finally(() => (this.refill = undefined));
  }
}
