import { AckPolicy, DeliverPolicy, DiscardPolicy, JetStreamApiError, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from "@nats-io/jetstream";
import type { Names } from "@natter/protocol";
import { ensureWorkQueue } from "./work-queue.ts";

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

/** The INBOX stream's caps when nobody configures them. */
export const INBOX_DEFAULTS = {
  /** Messages one user's inbox holds; the next is refused (INBOX_FULL), none is evicted. */
  maxPerUser: 100_000,
  /**
   * Bytes the whole stream holds; the next message is refused (STORAGE_FULL). JetStream
   * reserves this much of the server's store when the stream is made, so it is modest by
   * default (a shared test server holds many namespaces); raise it for a busy deployment.
   */
  maxBytes: 1024 * 1024 * 1024,
} as const;

/** Caps of the INBOX stream: both refuse new messages and never evict stored ones. */
export interface InboxCaps {
  readonly maxPerUser: number;
  readonly maxBytes: number;
}

/**
 * Creates or updates the INBOX stream: one subject per user, a work queue (a message is
 * removed once acked; one consumer per user filter), file storage, 30 days, a 2-minute
 * dedup window for `Nats-Msg-Id`, `replicas` copies on a cluster (R3 in production).
 * Past `caps` the stream refuses new messages (`discard: new`, per subject too) instead of
 * evicting stored ones; a stream made with `discard: old` is updated in place (nats-server
 * 2.9 allows it). Without `caps` an existing stream keeps the caps it has, so a service
 * that does not own them (group) never undoes what the edges were configured with.
 * Safe to call from every replica at start.
 */
export async function ensureInboxStream(
  jsm: JetStreamManager, n: Names, opts: { replicas?: number; caps?: InboxCaps } = {},
): Promise<void> {
  const caps = opts.caps ?? (await currentCaps(jsm, n.inboxStream)) ?? INBOX_DEFAULTS;
  await ensureWorkQueue(jsm, {
    name: n.inboxStream,
    subjects: [n.inboxWildcard],
    max_msgs_per_subject: caps.maxPerUser,
    max_bytes: caps.maxBytes,
    discard: DiscardPolicy.New,
    discard_new_per_subject: true,
    num_replicas: opts.replicas ?? 1,
  });
}

/** The caps an existing INBOX stream refuses at, or undefined when it has none yet. */
async function currentCaps(jsm: JetStreamManager, stream: string): Promise<InboxCaps | undefined> {
  try {
    const { config } = await jsm.streams.info(stream);
    if (config.discard !== DiscardPolicy.New || config.max_msgs_per_subject <= 0 || config.max_bytes <= 0) return undefined;
    return { maxPerUser: config.max_msgs_per_subject, maxBytes: config.max_bytes };
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === STREAM_NOT_FOUND) return undefined;
    throw err;
  }
}

const STREAM_NOT_FOUND = 10059;
/** JetStream's code for a message the stream would not store (its description says which limit). */
const STORE_REFUSED = 10077;

/** Why JetStream refused to store a message, when a cap of the INBOX stream did. */
export type InboxRefusal = "INBOX_FULL" | "STORAGE_FULL";

/**
 * The cap that refused a publish, or undefined for any other failure. Refusals are final:
 * trying again only stores once something is acked, so they are not retried.
 */
export function inboxRefusal(error: unknown): InboxRefusal | undefined {
  if (!(error instanceof JetStreamApiError) || error.code !== STORE_REFUSED) return undefined;
  // nats-server 2.9 tells the limits apart only by the description.
  if (/per subject/i.test(error.message)) return "INBOX_FULL";
  if (/maximum (bytes|messages)/i.test(error.message)) return "STORAGE_FULL";
  return undefined;
}

/** The durable consumer an edge makes for a receiving device (the bench's baseline uses it too). */
function deviceConsumerConfig(n: Names, userId: string) {
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
const DEVICE_PULL = { max_messages: 256, expires: PULL_EXPIRES_MS } as const;

/**
 * Starts delivering a device's inbox to `callback`. The stream is a work queue, so the
 * device's durable consumer is made anew each time: it starts at exactly what is still
 * unacked, and what was in flight on a dead edge comes again at once, not after an ack
 * timeout.
 */
export async function consumeDeviceInbox(
  js: JetStreamClient,
  jsm: JetStreamManager,
  n: Names,
  userId: string,
  callback: (m: JsMsg) => void,
): Promise<ConsumerMessages> {
  const stream = n.inboxStream;
  const name = n.deviceConsumer(userId);
  await jsm.consumers.delete(stream, name).catch(() => false);
  await jsm.consumers.add(stream, deviceConsumerConfig(n, userId));
  const consumer = await js.consumers.get(stream, name);
  return consumer.consume({ ...DEVICE_PULL, callback });
}

/**
 * The `Nats-Msg-Id` of a fan-out copy. JetStream dedups per stream, so each member's copy
 * of one message needs an id of its own; a 1:1 message's is its id.
 */
export function copyMsgId(messageId: string, userId: string): string {
  return `${messageId}:${userId}`;
}

/**
 * Stores encoded records (MessagePack `InboxMessage`s) in users' inboxes, each publish
 * tried again through a leader election; a repeat within the dedup window stores nothing.
 */
export class InboxWriter {
  constructor(private readonly js: JetStreamClient, private readonly n: Names) {}

  /** A 1:1 message: deduplicated by its id. Resolves once stored. */
  message(to: string, messageId: string, record: Uint8Array): Promise<void> {
    return publishWithRetry(this.js, this.n.inbox(to), record, messageId);
  }

  /**
   * One record copied into each recipient's inbox, each deduplicated by `<id>:<userId>`.
   * Resolves once every copy is stored or refused by a full inbox, naming the refused
   * recipients; any other failure rejects, after every copy has been tried.
   */
  async copies(recipients: readonly string[], messageId: string, record: Uint8Array): Promise<{ full: string[] }> {
    const results = await Promise.allSettled(
      recipients.map((to) => publishWithRetry(this.js, this.n.inbox(to), record, copyMsgId(messageId, to))),
    );
    const full: string[] = [];
    for (const [i, result] of results.entries()) {
      if (result.status === "fulfilled") continue;
      if (inboxRefusal(result.reason) !== "INBOX_FULL") throw result.reason;
      full.push(recipients[i]!);
    }
    return { full };
  }
}

/**
 * Publishes to a JetStream stream and resolves once stored, trying again while a stream
 * leader election may be under way; rejects with the last error after the last try, and
 * at once when a cap refused the message (see `inboxRefusal`).
 */
export async function publishWithRetry(js: JetStreamClient, subject: string, data: Uint8Array, msgID: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await js.publish(subject, data, { msgID });
      return;
    } catch (error) {
      const wait = PUBLISH_RETRY_MS[attempt];
      if (wait === undefined || inboxRefusal(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
