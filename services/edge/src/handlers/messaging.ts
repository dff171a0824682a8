import { MAX_MESSAGE_BODY, NatterError, type ClientFrameOf } from "@natter/protocol";
import type { Clock } from "@natter/kit";
import type { Client } from "../frame-connection.ts";
import type { BlockList, Delivery, DeviceFeed, EdgeMetrics, Identity, Inbox, Recipients, SessionMembership } from "../domain/ports.ts";
import type { UserSendRates } from "../domain/user-send-rates.ts";

/** What the messaging handlers need of their edge. */
export interface MessagingPorts {
  readonly inbox: Inbox;
  readonly blocks: BlockList;
  /** Sends to ids nobody has are refused. */
  readonly recipients: Recipients;
  /** The send rate of each user across their connections. */
  readonly sendRates: Pick<UserSendRates, "take">;
  readonly metrics: Pick<EdgeMetrics, "accepted" | "publishFailed" | "delivered">;
  /** Stamps `sentAt` on what is stored. */
  readonly clock: Clock;
}

/** What the messaging handlers keep on a connection, and ask of it. */
export interface MessagingClient extends Client {
  readonly membership: SessionMembership | undefined;
  feed: DeviceFeed | undefined;
  /** Deliveries waiting for the client's ack, by message id; made when the client first receives. */
  unacked: Map<string, Delivery> | undefined;
}

/**
 * Messages in and out: a send (1:1) or gsend (group) is stored in JetStream and only
 * then accepted; a receiving connection is fed its inbox as `deliver` frames, and the
 * client's `ack` acks JetStream. The sender is always the authenticated user. A send is
 * refused, and nothing stored, when the user sends faster than their rate (over all their
 * connections), the recipient does not exist, or the recipient's inbox or the whole store
 * is full (INBOX_FULL, STORAGE_FULL: what is stored is never evicted to make room).
 */
export class MessagingHandlers {
  constructor(private readonly ports: MessagingPorts) {}

  async send(client: MessagingClient, frame: ClientFrameOf<"send">, me: Identity): Promise<void> {
    if (!this.ports.sendRates.take(me.userId)) throw new NatterError("RATE_LIMITED");
    if (frame.msg.body.byteLength > MAX_MESSAGE_BODY) throw new NatterError("MESSAGE_TOO_LARGE");
    if (!(await this.ports.recipients.exists(frame.msg.to))) throw new NatterError("NO_SUCH_USER");
    // A blocked sender is not told: the message is simply never stored.
    if (await this.ports.blocks.blocks(frame.msg.to, me.userId)) {
      return client.push({ t: "accepted", id: frame.id, msgId: frame.msg.id });
    }
    await this.stored(client, frame.id, frame.msg.id, () => this.ports.inbox.publish(frame.msg.to, {
      v: 1, id: frame.msg.id, from: me.userId, fromName: me.username, body: frame.msg.body, sentAt: this.ports.clock.now(),
    }));
  }

  /** Membership is checked by the group service at fan-out: a non-member's message reaches nobody. */
  async gsend(client: MessagingClient, frame: ClientFrameOf<"gsend">, me: Identity): Promise<void> {
    if (!this.ports.sendRates.take(me.userId)) throw new NatterError("RATE_LIMITED");
    if (frame.msg.body.byteLength > MAX_MESSAGE_BODY) throw new NatterError("MESSAGE_TOO_LARGE");
    await this.stored(client, frame.id, frame.msg.id, () => this.ports.inbox.publishGroup({
      v: 1, id: frame.msg.id, from: me.userId, fromName: me.username, groupId: frame.msg.group, body: frame.msg.body, sentAt: this.ports.clock.now(),
    }));
  }

  async receive(client: MessagingClient, frame: ClientFrameOf<"receive">, me: Identity): Promise<void> {
    if (!client.feed) {
      if (!(await client.membership!.claimReceiver())) throw new NatterError("ALREADY_RECEIVING");
      const unacked = (client.unacked ??= new Map());
      client.feed = await this.ports.inbox.open(
        me.userId,
        (delivery) => {
          unacked.set(delivery.id, delivery);
          this.ports.metrics.delivered();
          client.pushEncoded("deliver", delivery.frame);
        },
        (error) => {
          client.log.warn({ err: error.message }, "lost the inbox feed; closing so the client reconnects");
          client.close();
        },
      );
      if (client.closed) await client.feed.stop();
    }
    client.push({ t: "ok", id: frame.id });
  }

  ack(client: MessagingClient, frame: ClientFrameOf<"ack">): void {
    const delivery = client.unacked?.get(frame.msgId);
    if (!delivery) return;
    client.unacked?.delete(frame.msgId);
    delivery.ack();
  }

  /** The edge is going away: no more deliveries to this connection. */
  stop(client: MessagingClient): void {
    void client.feed?.stop().catch(() => undefined);
    client.feed = undefined;
  }

  /** The connection closed: its feed stops, and what it did not ack comes again to its next one. */
  closed(client: MessagingClient): void {
    void client.feed?.stop().catch(() => undefined);
    client.unacked?.clear();
  }

  /** Publishes to JetStream and answers `accepted` only once it is stored. */
  private async stored(client: MessagingClient, requestId: number, msgId: string, publish: () => Promise<void>): Promise<void> {
    const started = performance.now();
    try {
      await publish();
    } catch (cause) {
      // A refusal (INBOX_FULL, STORAGE_FULL) is an answer, not a failure of the store.
      if (cause instanceof NatterError) throw cause;
      this.ports.metrics.publishFailed();
      client.log.warn({ err: (cause as Error).message }, "publish failed");
      throw new NatterError("UNAVAILABLE", undefined, { cause });
    }
    this.ports.metrics.accepted((performance.now() - started) / 1000);
    client.push({ t: "accepted", id: requestId, msgId });
  }
}
