import { Objm, type ObjectStore } from "@nats-io/obj";
import { StorageType } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Names } from "@natter/protocol";
import type { FileStore } from "../../domain/ports.ts";

const DAY_NS = 24 * 3600 * 1_000_000_000;
/** Files live as long as the inbox keeps the messages that point to them. */
const FILE_TTL_NS = 30 * DAY_NS;

/** Encrypted files in a JetStream object store (file storage, expiring with the inbox). */
export class ObjectFileStore implements FileStore {
  private constructor(private readonly store: ObjectStore) {}

  static async create(nc: NatsConnection, n: Names, replicas = 1): Promise<ObjectFileStore> {
    const store = await new Objm(nc).create(n.attachments, { storage: StorageType.File, ttl: FILE_TTL_NS, replicas });
    return new ObjectFileStore(store);
  }

  async put(id: string, source: ReadableStream<Uint8Array>): Promise<{ size: number }> {
    const info = await this.store.put({ name: id }, source);
    return { size: info.size };
  }

  async get(id: string): Promise<{ data: ReadableStream<Uint8Array>; size: number } | null> {
    const result = await this.store.get(id);
    if (!result) return null;
    return { data: result.data, size: result.info.size };
  }
}
