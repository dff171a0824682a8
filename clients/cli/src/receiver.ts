import type { FileRef, InboxMessage } from "@natter/protocol";
import type { Connection } from "./transport/connection.ts";
import { EXIT, exitCodeFor, toCliError } from "./errors.ts";
import type { History } from "./history.ts";
import type { Link } from "./transport/link.ts";
import type { ShownMessage, ShownReceipt } from "./messaging/incoming.ts";
import type { Messenger } from "./messaging/messenger.ts";
import { ReceiptSender } from "./messaging/receipt-sender.ts";
import type { Printer, SavedFile } from "./output.ts";
import type { Settings } from "./settings.ts";

/** Fetches, checks and saves a received file (files.ts `downloadFile` over the link). */
export type Downloader = (ref: FileRef) => Promise<SavedFile>;

/** Where what is shown is kept, and the settings that say which receipts go and show. */
export interface Keeping {
  history: History;
  settings: Settings;
}

/**
 * Handles deliveries one at a time, in the order they came: decrypt and store, show, keep
 * in history, then ack (so a crash before the ack means a redelivery, which the shown ids
 * absorb). With `keeping`, every message shown is kept and receipted (`delivered` once
 * kept, `read` since it was printed, unless read receipts are off), and receipts that come
 * back move my messages on in history and are shown as a status line.
 */
export class Receiver {
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;
  private refill: Promise<unknown> | undefined;
  private idleWaiters: Array<() => void> = [];
  private readonly receipts: ReceiptSender;
  /** Called whenever a delivery arrives (receive --wait restarts its quiet timer). */
  onActivity: () => void = () => undefined;

  constructor(
    private readonly messenger: Messenger,
    private readonly printer: Printer,
    private readonly link: () => Link,
    private readonly download?: Downloader,
    private readonly keeping?: Keeping,
  ) {
    this.receipts = new ReceiptSender((user, kind, of) => messenger.sendReceipt(user, kind, of));
  }

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
        else this.shown(outcome.message);
      } else if (outcome.kind === "event") {
        this.printer.event(outcome.event);
      } else if (outcome.kind === "receipt") {
        this.receiptCame(outcome.receipt);
      }
      this.link().ack(msg.id, connection);
      if (outcome.kind !== "event" && outcome.kind !== "duplicate" && outcome.newSession) this.topUpPrekeys();
    } catch (err) {
      // Not acked: it comes again on the next connection.
      this.printer.error(err);
    }
    // The last of a burst: its receipts go, together.
    if (this.pending === 1) await this.receipts.flush().catch(() => undefined);
  }

  /** Prints a message, keeps it, and gives its receipts to send (once: a message kept before is not receipted again). */
  private shown(m: ShownMessage, saved?: SavedFile): void {
    this.printer.message(m, saved);
    if (!this.keeping) return;
    const { history, settings } = this.keeping;
    const id = m.sentId ?? m.id;
    let kept: boolean;
    try {
      const base = { id, conversation: m.group === undefined ? m.from : `#${m.group}`, direction: "in", from: m.from, sentAt: m.sentAt, ...(m.warning ? { warning: m.warning } : {}) } as const;
      kept = m.content.type === "text"
        ? history.record({ ...base, type: "text", text: m.content.text }, m.fromId)
        : history.record({ ...base, type: "file", text: saved?.name ?? m.content.file.name, file: { size: saved?.size ?? m.content.file.size, mime: saved?.mime ?? m.content.file.mime, path: saved?.path ?? "" } }, m.fromId);
    } catch (err) {
      // Shown all the same; only the keeping failed.
      this.printer.error(err);
      return;
    }
    // Only to the contact it came from: never to an unknown account or a changed key.
    if (!kept || m.warning !== undefined) return;
    this.receipts.add(m.from, "delivered", id);
    if (settings.readReceipts) this.receipts.add(m.from, "read", id);
  }

  /** A receipt for my messages: history moves them on; what changed is shown (read receipts only while mine are on). */
  private receiptCame(r: ShownReceipt): void {
    if (!this.keeping) return;
    if (r.receipt === "read" && !this.keeping.settings.readReceipts) return;
    const effect = this.keeping.history.applyReceipt(r.fromId, r.from, r.receipt, r.of);
    const byConversation = new Map<string, string[]>();
    for (const a of effect.advanced) byConversation.set(a.conversation, [...(byConversation.get(a.conversation) ?? []), a.id]);
    for (const [conversation, ids] of byConversation) this.printer.receipt({ from: r.from, receipt: r.receipt, conversation, of: ids });
  }

  /**
   * Saves the file, then shows the message. A file that can never arrive (expired, does not
   * decrypt, no room) is reported and settled; a dropped connection is thrown, so the
   * delivery is not acked and the download is tried again when it comes back.
   */
  private async receiveFile(m: ShownMessage, ref: FileRef): Promise<void> {
    if (!this.download) throw new Error("invariant broken: a receiver of files needs a downloader");
    try {
      this.shown(m, await this.download(ref));
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
