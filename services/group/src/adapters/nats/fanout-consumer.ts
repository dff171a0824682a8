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
/**
 * Most messages of one group whose copies are on their way at once. Each copy waits for
 * its stream's acknowledgement (on R3, a round to a follower and back); one at a time, a
 * busy group is served at one message per acknowledgement.
 */
const IN_FLIGHT_PER_GROUP = 32;
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
 * Feeds the GROUPS stream to the fan-out. Messages of one group are started one after
 * another, so their copies reach each inbox in the group's order (a sender's messages keep
 * theirs), and up to `window` of them wait for their acknowledgements at once; different
 * groups run side by side. Unreadable or refused messages are terminated; a publish that
 * still fails after the inbox's own retries is tried again after RETRY_DELAY_MS (by then
 * later messages of the group may be stored: order holds while the inbox answers).
 *
 * A message taken but not yet answered is kept alive (`working`, every third of the ack
 * wait) while it waits its turn: when the inbox is slow, as during a leader election,
 * messages queue behind each other for longer than the ack wait, and without it JetStream
 * hands each over again, every copy is made twice, and the queue grows faster than it
 * drains. A message handed over again while still queued (its keep-alive lost) is not
 * queued twice; it is answered through its latest delivery.
 */
export async function startFanoutConsumer(opts: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  n: Names;
  fanout: GroupFanout;
  logger: Logger;
  /** Seconds from a message's acceptance by its edge to its copies being stored. */
  onFannedOut?: (lagSeconds: number) => void;
  /** How long JetStream waits for an ack before handing a message over again (tests shorten it). */
  ackWaitMs?: number;
  /** Most messages of one group whose copies are on their way at once (IN_FLIGHT_PER_GROUP). */
  window?: number;
}): Promise<FanoutConsumer> {
  const { js, jsm, n, fanout } = opts;
  const ackWaitMs = opts.ackWaitMs ?? ACK_WAIT_MS;
  const window = opts.window ?? IN_FLIGHT_PER_GROUP;
  const log = opts.logger.child({ module: "fanout" });
  await ensureConsumer(jsm, n, ackWaitMs);
  const consumer = await js.consumers.get(n.groupStream, FANOUT_CONSUMER);
  const chains = new Map<string, Promise<void>>();
  /**
   * Taken and not yet answered, the latest delivery of each, by stream sequence and message
   * id together: a stream numbered anew after a crash or a partition (seen with nats-server
   * 2.9) gives a new message the sequence of one still in hand here, and by sequence alone
   * it was taken for a redelivery of that one and acked, unsent, when that one was answered.
   */
  const unanswered = new Map<string, JsMsg>();
  const deliveryKey = (m: JsMsg) => `${m.seq}:${m.headers?.get("Nats-Msg-Id") ?? ""}`;
  const keepAlive = setInterval(() => {
    try {
      for (const m of unanswered.values()) m.working();
    } catch (err) {
      // Closed or draining: what is unanswered comes again after the ack wait.
      log.warn({ err }, "could not keep group messages in hand alive");
    }
  }, ackWaitMs / 3);
  keepAlive.unref();

  /** Per group, the messages whose copies are on their way: their answers to come. */
  const inFlight = new Map<string, Set<Promise<void>>>();

  /**
   * Starts one message's copies, once fewer than `window` of its group's are on their way,
   * and answers it when they are stored. Resolves as soon as its copies are handed to NATS,
   * so the group's next message goes out behind it without waiting for its acknowledgements.
   */
  const begin = async (key: string, delivery: string): Promise<void> => {
    const m = unanswered.get(delivery)!;
    /** Answers through the latest delivery of the message, which then is no longer kept alive. */
    const answer = (how: (latest: JsMsg) => void) => {
      const latest = unanswered.get(delivery) ?? m;
      unanswered.delete(delivery);
      how(latest);
    };
    let envelope: GroupEnvelope;
    try {
      envelope = parse(GroupEnvelope, decodeBody(m.data));
      if (n.group(envelope.groupId) !== m.subject) throw new Error("envelope names another group than its subject");
    } catch {
      log.warn({ seq: m.seq, subject: m.subject }, "dropped an unreadable group message");
      answer((latest) => latest.term());
      return;
    }
    const ids = { msgId: envelope.id, groupId: envelope.groupId, from: envelope.from };
    const retry = (err: unknown) => {
      log.warn({ err, ...ids, delivery: m.info.deliveryCount }, "group message not fanned out; retrying");
      answer((latest) => latest.nak(RETRY_DELAY_MS));
    };
    const flying = inFlight.get(key) ?? new Set<Promise<void>>();
    inFlight.set(key, flying);
    while (flying.size >= window) await Promise.race(flying);
    let started: Awaited<ReturnType<GroupFanout["start"]>>;
    try {
      started = await fanout.start(envelope);
    } catch (err) {
      retry(err);
      return;
    }
    const done: Promise<void> = started.outcome.then((outcome) => {
      if (outcome.kind === "refused") {
        log.warn({ ...ids, reason: outcome.reason }, "refused a group message");
        answer((latest) => latest.term());
        return;
      }
      answer((latest) => latest.ack());
      if (outcome.full.length > 0) log.warn({ ...ids, skipped: outcome.full.length }, "members with a full inbox got no copy");
      opts.onFannedOut?.(Math.max(0, Date.now() - envelope.sentAt) / 1000);
    }, retry).finally(() => {
      flying.delete(done);
      if (flying.size === 0 && inFlight.get(key) === flying) inFlight.delete(key);
    });
    flying.add(done);
  };

  const messages = await consumer.consume({
    max_messages: 256,
    expires: PULL_EXPIRES_MS,
    callback: (m) => {
      const delivery = deliveryKey(m);
      const queued = unanswered.has(delivery);
      unanswered.set(delivery, m);
      if (queued) return;
      const key = m.subject;
      const next = (chains.get(key) ?? Promise.resolve()).then(() => begin(key, delivery));
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
      await Promise.allSettled([...inFlight.values()].flatMap((flying) => [...flying]));
      clearInterval(keepAlive);
    },
  };
}

async function ensureConsumer(jsm: JetStreamManager, n: Names, ackWaitMs: number): Promise<void> {
  const config = {
    durable_name: FANOUT_CONSUMER,
    filter_subject: n.groupWildcard,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(ackWaitMs),
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
