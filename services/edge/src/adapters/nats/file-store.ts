import { Objm, type ObjectStore } from "@nats-io/obj";
import { StorageType } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { NatterError, type Names } from "@natter/protocol";
import type { FileStore } from "../../domain/ports.ts";

/** Files live as long as the inbox keeps the messages that point to them. */
export const FILE_TTL_MS = 30 * 24 * 3600 * 1000;
const FILE_TTL_NS = FILE_TTL_MS * 1_000_000;

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

  /**
   * A failure of the store itself (a timeout or no responders while a NATS node is lost) is
   * UNAVAILABLE, so the client keeps the message and fetches the file again later; as
   * INTERNAL it gave up on the file and acked the message that carried it.
   */
  async get(id: string): Promise<{ data: ReadableStream<Uint8Array>; size: number } | null> {
    let result;
    try {
      result = await this.store.get(id);
    } catch (cause) {
      throw new NatterError("UNAVAILABLE", undefined, { cause });
    }
    if (!result) return null;
    return { data: unavailableOnError(result.data), size: result.info.size };
  }
}

/** The same bytes; an error while reading becomes UNAVAILABLE. */
function unavailableOnError(source: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (cause) {
        controller.error(new NatterError("UNAVAILABLE", undefined, { cause }));
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}
