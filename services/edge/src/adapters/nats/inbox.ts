import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type JsMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { decodeBody, encodeRecord, InboxMessage, parse, type GroupEnvelope, type Names } from "@natter/protocol";
import type { Logger } from "@natter/kit";
import type { Delivery, DeviceFeed, Inbox } from "../../domain/ports.ts";
import type { TurnBatch } from "./turn-batch.ts";

const SECOND_NS = 1_000_000_000;
/** Deliveries a device may have unacked at once; JetStream pauses it beyond. */
const MAX_ACK_PENDING = 1000;
/**
 * How long each pull waits on the server. Idle heartbeats come at half of it, and two
 * missed ones make the client pull again: when the consumer's leader dies with its NATS
 * node, the pending pull dies too, so this bounds how long a device goes without
 * deliveries (the library's 30 s default stalled online users for 30 s).
 */
const PULL_EXPIRES_MS = 10_000;
/**
 * Waits between tries of a publish that failed: a stream leader election on a cluster
 * takes a few seconds, and a retry with the same `Nats-Msg-Id` is stored at most once.
 */
const PUBLISH_RETRY_MS = [250, 500, 1000, 1500];

/** The durable consumer an edge makes for a receiving device (the bench's baseline uses it too). */
export function deviceConsumerConfig(n: Names, userId: string) {
  return {
    durable_name: n.deviceConsumer(userId),
    filter_subject: n.inbox(userId),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: 30 * SECOND_NS,
    max_ack_pending: MAX_ACK_PENDING,
    inactive_threshold: 600 * SECOND_NS,
  };
}

/** How an edge pulls a device's consumer. */
export const DEVICE_PULL = { max_messages: 256, expires: PULL_EXPIRES_MS } as const;

/**
 * The INBOX stream seen from an edge. The stream is a work queue: a message goes away
 * once the device acks it, so a device's consumer always starts at what is still
 * waiting. Each time a device starts receiving, its durable consumer is made anew, which
 * hands it every unacked message at once (no waiting out an ack timer after a crash).
 */
export class JetStreamInbox implements Inbox {
  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly n: Names,
    private readonly logger: Logger,
    private readonly turn: TurnBatch,
  ) {}

  static async create(nc: NatsConnection, n: Names, logger: Logger, turn: TurnBatch): Promise<JetStreamInbox> {
    return new JetStreamInbox(jetstream(nc), await jetstreamManager(nc), n, logger, turn);
  }

  publish(to: string, message: InboxMessage): Promise<void> {
    return this.store(this.n.inbox(to), encodeRecord(message), message.id);
  }

  publishGroup(envelope: GroupEnvelope): Promise<void> {
    return this.store(this.n.group(envelope.groupId), encodeRecord(envelope), envelope.id);
  }

  private async store(subject: string, data: Uint8Array, msgID: string): Promise<void> {
    await this.turn.end();
    for (let attempt = 0; ; attempt++) {
      try {
        await this.js.publish(subject, data, { msgID });
        return;
      } catch (error) {
        const wait = PUBLISH_RETRY_MS[attempt];
        if (wait === undefined) throw error;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  async open(userId: string, onDelivery: (delivery: Delivery) => void, onLost: (error: Error) => void): Promise<DeviceFeed> {
    const stream = this.n.inboxStream;
    const name = this.n.deviceConsumer(userId);
    await this.jsm.consumers.delete(stream, name).catch(() => false);
    await this.jsm.consumers.add(stream, deviceConsumerConfig(this.n, userId));
    const consumer = await this.js.consumers.get(stream, name);
    const messages = await consumer.consume({
      ...DEVICE_PULL,
      callback: (m: JsMsg) => {
        let message: InboxMessage;
        try {
          message = parse(InboxMessage, decodeBody(m.data));
        } catch {
          this.logger.warn({ seq: m.seq }, "dropped an unreadable inbox record");
          m.term();
          return;
        }
        onDelivery({ message, ack: () => this.turn.defer(() => m.ack()) });
      },
    });
    messages.closed().then(
      (error) => { if (error) onLost(error); },
      (error: unknown) => onLost(error instanceof Error ? error : new Error(String(error))),
    );
    return { stop: async () => { messages.stop(); } };
  }
}
