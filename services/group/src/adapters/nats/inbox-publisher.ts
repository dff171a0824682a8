import type { JetStreamClient } from "@nats-io/jetstream";
import { encodeRecord, type Names } from "@natter/protocol";
import type { InboxCopy, InboxPublisher } from "../../domain/ports.ts";

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
 */
export class JetStreamInboxPublisher implements InboxPublisher {
  constructor(private readonly js: JetStreamClient, private readonly n: Names) {}

  publish(copies: readonly InboxCopy[]): Promise<void> {
    return this.publishRecords(copies.map(({ to, message }) => ({ to, messageId: message.id, data: encodeRecord(message) })));
  }

  async publishRecords(records: readonly InboxRecord[]): Promise<void> {
    await Promise.all(records.map((r) => this.js.publish(this.n.inbox(r.to), r.data, { msgID: `${r.messageId}:${r.to}` })));
  }
}
