import { DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Creates or updates a work-queue stream kept on file for 30 days with a 2-minute dedup
 * window, so that services starting together all end up with one stream of this shape.
 * It discards the oldest past its limits unless `stream` says `discard: new`.
 */
export async function ensureWorkQueue(
  jsm: JetStreamManager,
  stream: {
    name: string;
    subjects: string[];
    num_replicas: number;
    max_msgs_per_subject?: number;
    max_bytes?: number;
    discard?: DiscardPolicy;
    discard_new_per_subject?: boolean;
  },
): Promise<void> {
  const config = {
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    max_age: nanos(30 * DAY_MS),
    duplicate_window: nanos(2 * 60 * 1000),
    discard: DiscardPolicy.Old,
    ...stream,
  } satisfies Partial<StreamConfig> & { name: string };
  const { retention: _retention, storage: _storage, ...mutable } = config;
  try {
    await jsm.streams.info(config.name);
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
    try {
      await jsm.streams.add(config);
      return;
    } catch (addErr) {
      // Another replica created it in between: fall through to update. Anything else (no
      // room to reserve its bytes, say) is the real error, not the update's "not found".
      if (!(addErr instanceof JetStreamApiError) || addErr.code !== STREAM_NAME_IN_USE) throw addErr;
    }
  }
  await jsm.streams.update(config.name, mutable);
}

const STREAM_NAME_IN_USE = 10058;

function isStreamNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === 10059;
}
