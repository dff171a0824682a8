import { DiscardPolicy, jetstream, JetStreamApiError, jetstreamManager, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/transport-node";
import { NatterError, type Names } from "@natter/protocol";
import type { FileQuota, QuotaReservation } from "../../domain/ports.ts";
import { FILE_TTL_MS } from "./file-store.ts";

/** A user's quota is counted in units of this many bytes; a file takes at least one. */
export const QUOTA_UNIT = 256 * 1024;
const EMPTY = new Uint8Array(0);

/**
 * The per-user file quota, kept by JetStream itself: a stream with one empty message per
 * unit of storage a user's files take, on the user's subject, kept exactly as long as the
 * files (30 days) and capped per subject with `discard: new`. A reservation publishes its
 * units; the stream refuses the one past the cap atomically, whichever edge asks, and
 * what expires gives the quota back by itself.
 */
export class JetStreamFileQuota implements FileQuota {
  private constructor(private readonly js: JetStreamClient, private readonly jsm: JetStreamManager, private readonly n: Names) {}

  static async create(nc: NatsConnection, n: Names, quotaBytes: number, replicas = 1): Promise<JetStreamFileQuota> {
    const jsm = await jetstreamManager(nc);
    const config = {
      name: n.fileUsageStream,
      subjects: [n.fileUsageWildcard],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: nanos(FILE_TTL_MS),
      max_msgs_per_subject: Math.max(1, Math.floor(quotaBytes / QUOTA_UNIT)),
      discard: DiscardPolicy.New,
      discard_new_per_subject: true,
      num_replicas: replicas,
    };
    try {
      await jsm.streams.add(config);
    } catch (error) {
      // It exists (made by another edge, maybe with another quota): bring it to this one.
      if (!(error instanceof JetStreamApiError)) throw error;
      const { retention: _retention, storage: _storage, ...mutable } = config;
      await jsm.streams.update(config.name, mutable);
    }
    return new JetStreamFileQuota(jetstream(nc), jsm, n);
  }

  async reserve(userId: string, bytes: number): Promise<QuotaReservation | undefined> {
    const units = Math.max(1, Math.ceil(bytes / QUOTA_UNIT));
    const subject = this.n.fileUsage(userId);
    const results = await Promise.allSettled(Array.from({ length: units }, () => this.js.publish(subject, EMPTY)));
    const seqs = results.flatMap((r) => (r.status === "fulfilled" ? [r.value.seq] : []));
    const release = async () => {
      await Promise.all(seqs.map((seq) => this.jsm.streams.deleteMessage(this.n.fileUsageStream, seq, false).catch(() => false)));
    };
    const failure = results.find((r) => r.status === "rejected");
    if (!failure) return { release };
    await release();
    if (isRefusal(failure.reason)) return undefined;
    throw new NatterError("UNAVAILABLE", undefined, { cause: failure.reason });
  }
}

function isRefusal(error: unknown): boolean {
  return error instanceof JetStreamApiError && /per subject/i.test(error.message);
}
