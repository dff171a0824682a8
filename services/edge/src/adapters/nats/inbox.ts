import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type JsMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { decodeBody, encodeRecord, InboxMessage, NatterError, parse, type GroupEnvelope, type Names } from "@natter/protocol";
import { consumeDeviceInbox, inboxRefusal, InboxWriter, publishWithRetry, type Logger } from "@natter/kit";
import type { Delivery, DeviceFeed, Inbox } from "../../domain/ports.ts";
import type { TurnBatch } from "./turn-batch.ts";

/**
 * The INBOX stream seen from an edge. The stream is a work queue: a message goes away
 * once the device acks it, so a device's consumer always starts at what is still
 * waiting. Each time a device starts receiving, its durable consumer is made anew, which
 * hands it every unacked message at once (no waiting out an ack timer after a crash).
 */
export class JetStreamInbox implements Inbox {
  private readonly writer: InboxWriter;

  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly n: Names,
    private readonly logger: Logger,
    private readonly turn: TurnBatch,
  ) {
    this.writer = new InboxWriter(js, n);
  }

  static async create(nc: NatsConnection, n: Names, logger: Logger, turn: TurnBatch): Promise<JetStreamInbox> {
    return new JetStreamInbox(jetstream(nc), await jetstreamManager(nc), n, logger, turn);
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
    await publishWithRetry(this.js, this.n.group(envelope.groupId), record, envelope.id);
  }

  async open(userId: string, onDelivery: (delivery: Delivery) => void, onLost: (error: Error) => void): Promise<DeviceFeed> {
    const messages = await consumeDeviceInbox(this.js, this.jsm, this.n, userId, (m: JsMsg) => {
      let message: InboxMessage;
      try {
        message = parse(InboxMessage, decodeBody(m.data));
      } catch {
        this.logger.warn({ seq: m.seq }, "dropped an unreadable inbox record");
        m.term();
        return;
      }
      onDelivery({ message, ack: () => this.turn.defer(() => m.ack()) });
    });
    messages.closed().then(
      (error) => { if (error) onLost(error); },
      (error: unknown) => onLost(error instanceof Error ? error : new Error(String(error))),
    );
    return { stop: async () => { messages.stop(); } };
  }
}
