import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { decodeBody, encodeDeliverFrame, encodeRecord, InboxMessage, NatterError, parse, type GroupEnvelope, type Names } from "@natter/protocol";
import { DeviceFeeds, inboxRefusal, InboxWriter, messageIdOf, publishWithRetry, StorePublisher, type Logger, type StorePublish } from "@natter/kit";
import type { Delivery, DeviceFeed, Inbox } from "../../domain/ports.ts";
import type { TurnBatch } from "./turn-batch.ts";

/**
 * The INBOX stream seen from an edge. A message stays in the stream until the device acks
 * it, so a device that connects again is handed everything it did not ack; a receiving
 * device is fed by a subscription to what the stream republishes, not by a consumer of
 * its own (see kit's `DeviceFeeds`).
 */
export class JetStreamInbox implements Inbox {
  private readonly writer: InboxWriter;

  private constructor(
    private readonly publisher: StorePublish,
    private readonly feeds: DeviceFeeds,
    private readonly n: Names,
    private readonly logger: Logger,
    private readonly turn: TurnBatch,
  ) {
    this.writer = new InboxWriter(publisher, n);
  }

  static async create(nc: NatsConnection, n: Names, logger: Logger, turn: TurnBatch): Promise<JetStreamInbox> {
    const js = jetstream(nc);
    const publisher = new StorePublisher(nc);
    return new JetStreamInbox(publisher, new DeviceFeeds(nc, js, await jetstreamManager(nc), n, logger), n, logger, turn);
  }

  /** Throws NatterError INBOX_FULL or STORAGE_FULL when a cap of the stream refuses the message. */
  async publish(to: string, message: InboxMessage): Promise<void> {
    const record = encodeRecord(message);
    await this.turn.end();
    try {
      await this.writer.message(to, message.id, record);
    } catch (cause) {
      const refusal = inboxRefusal(cause);
      throw refusal ? new NatterError(refusal, undefined, { cause }) : cause;
    }
  }

  async publishGroup(envelope: GroupEnvelope): Promise<void> {
    const record = encodeRecord(envelope);
    await this.turn.end();
    await publishWithRetry(this.publisher, this.n.group(envelope.groupId), record, envelope.id);
  }

  async open(userId: string, onDelivery: (delivery: Delivery) => void, onLost: (error: Error) => void): Promise<DeviceFeed> {
    const feed = await this.feeds.open(userId, {
      deliver: ({ seq, data, id, ack }) => {
        // A record is forwarded as it was stored: the services wrote it, from a frame they had checked.
        const messageId = messageIdOf(id, userId) ?? this.readId(seq, data);
        if (messageId === undefined) return ack();
        onDelivery({ id: messageId, frame: encodeDeliverFrame(data), ack });
      },
      lost: onLost,
    });
    return { stop: async () => feed.stop() };
  }

  /** The id inside a record stored without one the feed can read (moved from the old inbox); undefined for one unreadable. */
  private readId(seq: number, data: Uint8Array): string | undefined {
    try {
      return parse(InboxMessage, decodeBody(data)).id;
    } catch {
      this.logger.warn({ seq }, "dropped an unreadable inbox record");
      return undefined;
    }
  }
}
