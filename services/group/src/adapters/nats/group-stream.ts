import { DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import type { Names } from "@natter/protocol";

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Creates or updates the GROUPS stream: group messages from edges, one subject per group,
 * a work queue (a message goes once the fan-out acks it), file storage, a 2-minute dedup
 * window for `Nats-Msg-Id`. Safe to call from every replica at start.
 */
export async function ensureGroupStream(jsm: JetStreamManager, n: Names): Promise<void> {
  const config = {
    name: n.groupStream,
    subjects: [n.groupWildcard],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    max_age: nanos(30 * DAY_MS),
    duplicate_window: nanos(2 * 60 * 1000),
    discard: DiscardPolicy.Old,
  } satisfies Partial<StreamConfig> & { name: string };
  const { retention: _retention, storage: _storage, ...mutable } = config;
  try {
    await jsm.streams.info(config.name);
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === 10059)) throw err;
    try {
      await jsm.streams.add(config);
      return;
    } catch (addErr) {
      // Another replica created it in between: fall through to update.
      if (!(addErr instanceof JetStreamApiError)) throw addErr;
    }
  }
  await jsm.streams.update(config.name, mutable);
}
