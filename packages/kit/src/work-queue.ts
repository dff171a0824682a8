import { DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig, type StreamInfo } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";

const DAY_MS = 24 * 60 * 60 * 1000;

/** What `ensureStream` needs besides what every natter stream shares. */
export type StreamShape = Partial<StreamConfig> & { name: string; subjects: string[]; num_replicas: number };

/**
 * Creates or updates a work-queue stream kept on file for 30 days with a 2-minute dedup
 * window, so that services starting together all end up with one stream of this shape.
 * It discards the oldest past its limits unless `stream` says `discard: new`.
 */
export function ensureWorkQueue(jsm: JetStreamManager, stream: Omit<StreamShape, "retention">): Promise<void> {
  return ensureStream(jsm, { retention: RetentionPolicy.Workqueue, ...stream });
}

/**
 * Creates or updates a stream kept on file for 30 days with a 2-minute dedup window
 * (unless `stream` says otherwise); safe to run from every replica at start. What a
 * stream cannot change once made (retention, storage) is left out of the update.
 */
export async function ensureStream(jsm: JetStreamManager, stream: StreamShape): Promise<void> {
  const config = {
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(30 * DAY_MS),
    duplicate_window: nanos(2 * 60 * 1000),
    discard: DiscardPolicy.Old,
    ...stream,
  } satisfies Partial<StreamConfig> & { name: string };
  const { retention: _retention, storage: _storage, ...mutable } = config;
  if (!(await streamInfo(jsm, config.name))) {
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

/** A stream's info, or undefined when there is no such stream. */
export async function streamInfo(jsm: JetStreamManager, stream: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(stream);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === STREAM_NOT_FOUND) return undefined;
    throw err;
  }
}

const STREAM_NOT_FOUND = 10059;
