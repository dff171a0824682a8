import { AckPolicy, DeliverPolicy, JetStreamApiError, type JetStreamClient, type JetStreamManager, type JsMsg } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import type { Logger } from "@natter/kit";
import { decodeBody, GroupEnvelope, parse, type Names } from "@natter/protocol";
import type { GroupFanout } from "../../domain/fanout.ts";

/** The durable pull consumer every replica shares. */
export const FANOUT_CONSUMER = "fanout";
const ACK_WAIT_MS = 30_000;
/** Messages handed out and not yet acked, across replicas; bounds the work in flight. */
const MAX_ACK_PENDING = 1000;
/** How long a message whose copies could not all be stored waits before it comes again. */
export const RETRY_DELAY_MS = 2000;
/**
 * How long each pull waits on the server; two missed idle heartbeats (half of it each)
 * make the client pull again. A pull lost with a dead NATS node's consumer leader would
 * otherwise stall fan-out for the library's default 30 s.
 */
const PULL_EXPIRES_MS = 5_000;

export interface FanoutConsumer {
  /** Stops taking messages and waits for those in hand. */
  stop(): Promise<void>;
}

/**
 * Feeds the GROUPS stream to the fan-out. Messages of one group are handled one after
 * another (so a sender's messages keep their order); different groups run side by side.
 * Unreadable or refused messages are terminated; a publish that still fails after the
 * inbox's own retries is tried again after RETRY_DELAY_MS.
 */
export async function startFanoutConsumer(opts: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  n: Names;
  fanout: GroupFanout;
  logger: Logger;
  /** Seconds from a message's acceptance by its edge to its copies being stored. */
  onFannedOut?: (lagSeconds: number) => void;
}): Promise<FanoutConsumer> {
  const { js, jsm, n, fanout } = opts;
  const log = opts.logger.child({ module: "fanout" });
  await ensureConsumer(jsm, n);
  const consumer = await js.consumers.get(n.groupStream, FANOUT_CONSUMER);
  const chains = new Map<string, Promise<void>>();

  const handle = async (m: JsMsg): Promise<void> => {
    let envelope: GroupEnvelope;
    try {
      envelope = parse(GroupEnvelope, decodeBody(m.data));
      if (n.group(envelope.groupId) !== m.subject) throw new Error("envelope names another group than its subject");
    } catch {
      log.warn({ seq: m.seq, subject: m.subject }, "dropped an unreadable group message");
      m.term();
      return;
    }
    const ids = { msgId: envelope.id, groupId: envelope.groupId, from: envelope.from };
    try {
      const outcome = await fanout.handle(envelope);
      if (outcome.kind === "refused") {
        log.warn({ ...ids, reason: outcome.reason }, "refused a group message");
        m.term();
        return;
      }
      m.ack();
      if (outcome.full.length > 0) log.warn({ ...ids, skipped: outcome.full.length }, "members with a full inbox got no copy");
      opts.onFannedOut?.(Math.max(0, Date.now() - envelope.sentAt) / 1000);
    } catch (err) {
      log.warn({ err, ...ids, delivery: m.info.deliveryCount }, "group message not fanned out; retrying");
      m.nak(RETRY_DELAY_MS);
    }
  };

  const messages = await consumer.consume({
    max_messages: 256,
    expires: PULL_EXPIRES_MS,
    callback: (m) => {
      const key = m.subject;
      const next = (chains.get(key) ?? Promise.resolve()).then(() => handle(m));
      chains.set(key, next);
      void next.finally(() => {
        if (chains.get(key) === next) chains.delete(key);
      });
    },
  });
  void messages.closed().then((err) => {
    if (err) log.error({ err }, "fan-out consumer stopped");
  });

  return {
    async stop() {
      messages.stop();
      await Promise.allSettled([...chains.values()]);
    },
  };
}

async function ensureConsumer(jsm: JetStreamManager, n: Names): Promise<void> {
  const config = {
    durable_name: FANOUT_CONSUMER,
    filter_subject: n.groupWildcard,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(ACK_WAIT_MS),
    max_ack_pending: MAX_ACK_PENDING,
  };
  try {
    await jsm.consumers.add(n.groupStream, config);
  } catch (err) {
    // It exists with other settings (an older replica made it): bring it up to date.
    if (!(err instanceof JetStreamApiError)) throw err;
    const { durable_name: _name, deliver_policy: _deliver, filter_subject: _filter, ...mutable } = config;
    await jsm.consumers.update(n.groupStream, FANOUT_CONSUMER, mutable);
  }
}
