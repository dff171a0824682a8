import { AckPolicy, DeliverPolicy, DiscardPolicy, JetStreamApiError, RetentionPolicy, type JetStreamManager, type StreamInfo } from "@nats-io/jetstream";
import { RetryBudget } from "./retry-budget.ts";
import type { StorePublish } from "./store-publisher.ts";
import type { Names } from "@natter/protocol";
import { ensureStream, streamInfo } from "./work-queue.ts";

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
 * Creates or updates the INBOX stream: one subject per user, file storage, 30 days, a
 * 2-minute dedup window for `Nats-Msg-Id`, `replicas` copies on a cluster (R3 in
 * production). Every message it stores is republished at once to the user's live subject
 * (core NATS) with its stream sequence and the sequence of the user's message stored
 * before it, which is how an edge delivers without a consumer per device (see
 * `DeviceFeeds`). A message stays until the receiving edge purges the user's subject up
 * to what the device acked. Past `caps` the stream refuses new messages (`discard: new`,
 * per subject too) instead of evicting stored ones. Without `caps` an existing stream keeps
 * the caps it has, so a service that does not own them (group) never undoes what the
 * edges were configured with. A work-queue INBOX stream of an earlier natter gives its
 * messages to this one (`moveLegacyInbox`). Safe to call from every replica at start.
 */
export async function ensureInboxStream(
  jsm: JetStreamManager, n: Names, opts: { replicas?: number; caps?: InboxCaps } = {},
): Promise<void> {
  const [current, legacy] = await Promise.all([streamInfo(jsm, n.inboxStream), streamInfo(jsm, n.legacyInboxStream)]);
  const caps = opts.caps ?? capsOf(current) ?? capsOf(legacy) ?? INBOX_DEFAULTS;
  // The old stream gives up its subjects first, so that the new one can claim them.
  if (legacy?.config.subjects.includes(n.inboxWildcard)) {
    await jsm.streams.update(n.legacyInboxStream, { ...legacy.config, subjects: [`${n.namespace}.inbox-legacy.*`] });
  }
  await ensureStream(jsm, {
    name: n.inboxStream,
    subjects: [n.inboxWildcard],
    retention: RetentionPolicy.Limits,
    max_msgs_per_subject: caps.maxPerUser,
    max_bytes: caps.maxBytes,
    discard: DiscardPolicy.New,
    discard_new_per_subject: true,
    // The user's id is the subject's one wildcard token; it is kept in the live subject.
    republish: { src: n.inboxWildcard, dest: n.live("{{wildcard(1)}}") },
    num_replicas: opts.replicas ?? 1,
  });
  if (legacy) await moveLegacyInbox(jsm, n);
}

/** The caps a stream refuses at, or undefined when it has none (or there is no stream). */
function capsOf(info: StreamInfo | undefined): InboxCaps | undefined {
  if (!info) return undefined;
  const { config } = info;
  if (config.discard !== DiscardPolicy.New || config.max_msgs_per_subject <= 0 || config.max_bytes <= 0) return undefined;
  return { maxPerUser: config.max_msgs_per_subject, maxBytes: config.max_bytes };
}

/** The consumer every starting service shares to move a legacy inbox's messages. */
const MOVE_CONSUMER = "move_to_v2";

/**
 * Moves the messages of the work-queue INBOX stream an earlier natter made (which could
 * not be given a live republish in place) into the new stream, keeping each one's subject
 * and `Nats-Msg-Id`, and deletes the old stream once it is empty. Its device consumers go
 * (their edges' clients reconnect and are fed from the new stream). Every starting service
 * may run it at once: they share one consumer, and the new stream's dedup window stores
 * each message once. A user's moved messages arrive after any stored meanwhile.
 */
async function moveLegacyInbox(jsm: JetStreamManager, n: Names): Promise<void> {
  try {
    for await (const consumer of jsm.consumers.list(n.legacyInboxStream)) {
      if (consumer.name !== MOVE_CONSUMER) await jsm.consumers.delete(n.legacyInboxStream, consumer.name).catch(() => false);
    }
    await jsm.consumers.add(n.legacyInboxStream, { durable_name: MOVE_CONSUMER, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All });
    const js = jsm.jetstream();
    const consumer = await js.consumers.get(n.legacyInboxStream, MOVE_CONSUMER);
    for (;;) {
      let moved = 0;
      for await (const m of await consumer.fetch({ max_messages: 256, expires: 1000 })) {
        try {
          await publishWithRetry(js, m.subject, m.data, m.headers?.get("Nats-Msg-Id") || `legacy-${m.seq}`);
        } catch (error) {
          // A full inbox in the new stream: the message stays in the old one for a later start.
          if (inboxRefusal(error)) continue;
          throw error;
        }
        m.ack();
        moved++;
      }
      if (moved === 0) break;
    }
  } catch (error) {
    // Another service finished the move and deleted the old stream under this one's reads.
    if (!(await streamInfo(jsm, n.legacyInboxStream))) return;
    throw error;
  }
  const left = await streamInfo(jsm, n.legacyInboxStream);
  if (left?.state.messages === 0) await jsm.streams.delete(n.legacyInboxStream).catch(() => false);
}

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

/**
 * The `Nats-Msg-Id` of a fan-out copy. JetStream dedups per stream, so each member's copy
 * of one message needs an id of its own; a 1:1 message's is its id.
 */
export function copyMsgId(messageId: string, userId: string): string {
  return `${messageId}:${userId}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The message id that a record stored in `userId`'s inbox under `Nats-Msg-Id` `storedId`
 * carries: its own id for a 1:1 message, the id before `:<userId>` for a fan-out copy.
 * Undefined for any other shape (a record moved from the old inbox): read the record then.
 */
export function messageIdOf(storedId: string | undefined, userId: string): string | undefined {
  if (storedId === undefined) return undefined;
  const id = storedId.endsWith(`:${userId}`) ? storedId.slice(0, -userId.length - 1) : storedId;
  return UUID.test(id) ? id : undefined;
}

/**
 * Stores encoded records (MessagePack `InboxMessage`s) in users' inboxes, each publish
 * tried again through a leader election; a repeat within the dedup window stores nothing.
 */
export class InboxWriter {
  constructor(private readonly js: StorePublish, private readonly n: Names) {}

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

/** The retries this process may still make to store a message (see `RetryBudget`). */
const storeRetries = new RetryBudget();

/**
 * Publishes to a JetStream stream and resolves once stored, trying again while a stream
 * leader election may be under way and `budget` allows; rejects with the last error after
 * the last try, and at once when a cap refused the message (see `inboxRefusal`).
 */
export async function publishWithRetry(js: StorePublish, subject: string, data: Uint8Array, msgID: string, budget = storeRetries): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await js.publish(subject, data, { msgID });
      budget.succeeded();
      return;
    } catch (error) {
      const wait = PUBLISH_RETRY_MS[attempt];
      if (wait === undefined || inboxRefusal(error) || !budget.retry()) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
