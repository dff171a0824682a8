import { InboxWriter, type StorePublish } from "@natter/kit";
import { encodeRecord, type InboxMessage, type Names } from "@natter/protocol";
import type { InboxPublisher } from "../../domain/ports.ts";

/** An encoded inbox record for one user. */
export interface InboxRecord {
  readonly to: string;
  /** The message id; the copy's `Nats-Msg-Id` is `<messageId>:<to>`. */
  readonly messageId: string;
  readonly data: Uint8Array;
}

/**
 * Publishes copies into the INBOX stream. JetStream dedups per stream, so each copy's
 * `Nats-Msg-Id` names its recipient: a repeat within the dedup window stores nothing.
 * A message is encoded once for all its recipients.
 */
export class JetStreamInboxPublisher implements InboxPublisher {
  private readonly writer: InboxWriter;

  constructor(js: StorePublish, n: Names) {
    this.writer = new InboxWriter(js, n);
  }

  publish(message: InboxMessage, recipients: readonly string[]): Promise<{ full: string[] }> {
    return this.writer.copies(recipients, message.id, encodeRecord(message));
  }

  /**
   * Membership events for the outbox. A recipient whose inbox is full gets none: the
   * group's signed chain, fetched with the group, still tells them every change.
   */
  async publishRecords(records: readonly InboxRecord[]): Promise<void> {
    await Promise.all(records.map((r) => this.writer.copies([r.to], r.messageId, r.data)));
  }
}
