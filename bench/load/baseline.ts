/**
 * The baselines: what nats.js does straight against JetStream, with the same stream
 * settings, device feeds (kit's `DeviceFeeds`) and record encoding the edge uses, so a
 * ratio tells what the edge (and the group service) add on top.
 */
import { StorageType, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Objm } from "@nats-io/obj";
import { copyMsgId, DeviceFeeds, ensureInboxStream, type DeviceFeed } from "@natter/kit";
import { decodeBody, encodeRecord, names, type Names } from "@natter/protocol";
import type { Link } from "./traffic.ts";

/** A NATS connection and the INBOX-like stream of a baseline namespace. */
export class JetStreamSide {
  private readonly feeds: DeviceFeeds;
  private readonly opened: DeviceFeed[] = [];

  private constructor(readonly nc: NatsConnection, readonly js: JetStreamClient, readonly jsm: JetStreamManager, readonly n: Names) {
    this.feeds = new DeviceFeeds(nc, js, jsm, n);
  }

  static async open(natsUrl: string, namespace: string): Promise<JetStreamSide> {
    // The options natter's services connect with (packages/kit), so the comparison is like for like.
    const nc = await connect({ servers: natsUrl.split(","), name: "natter-bench-baseline", noAsyncTraces: true });
    const jsm = await jetstreamManager(nc);
    const n = names(namespace);
    await ensureInboxStream(jsm, n);
    return new JetStreamSide(nc, jetstream(nc), jsm, n);
  }

  /** A feed exactly like the one an edge opens for a receiving device; `onId` gets each record's id. */
  async consume(userId: string, onId: (id: string) => void): Promise<void> {
    this.opened.push(await this.feeds.open(userId, {
      deliver: ({ data, ack }) => {
        onId((decodeBody(data) as { id: string }).id);
        ack();
      },
      lost: () => undefined,
    }));
  }

  /** The record an edge stores for a message: same encoding, same size. */
  record(id: string, from: string, body: Uint8Array): Uint8Array {
    return encodeRecord({ v: 1, id, from, fromName: "bench-sender", body, sentAt: Date.now() });
  }

  /** A 1:1 link: one publish into the receiver's inbox subject. */
  directLink(from: string, to: string): Link {
    return {
      recipients: 1,
      send: async (id, body) => {
        await this.js.publish(this.n.inbox(to), this.record(id, from, body), { msgID: id });
      },
    };
  }

  /** A group link: one copy a member, published side by side as the group service does. */
  fanoutLink(from: string, members: readonly string[]): Link {
    return {
      recipients: members.length,
      send: async (id, body) => {
        const record = this.record(id, from, body);
        await Promise.all(members.map((to) => this.js.publish(this.n.inbox(to), record, { msgID: copyMsgId(id, to) })));
      },
    };
  }

  async close(): Promise<void> {
    this.feeds.stop();
    await this.nc.close();
  }
}

/** Consumes `userId`'s inbox of the baseline namespace until `expected` records came; ms taken. */
export async function drainBaseline(natsUrl: string, namespace: string, userId: string, expected: number, timeoutMs: number): Promise<{ ms: number; received: number }> {
  const side = await JetStreamSide.open(natsUrl, namespace);
  try {
    let received = 0;
    let finished: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (finished = resolve));
    const start = performance.now();
    await side.consume(userId, () => {
      received += 1;
      if (received === expected) finished();
    });
    await Promise.race([done, new Promise((r) => setTimeout(r, timeoutMs))]);
    return { ms: performance.now() - start, received };
  } finally {
    await side.close();
  }
}

/** Puts and gets `size` random bytes through an object store directly; ms for each. */
export async function objectStoreBaseline(natsUrl: string, bucket: string, size: number, chunk: number): Promise<{ putMs: number; getMs: number; bytes: number }> {
  const nc = await connect({ servers: natsUrl.split(","), name: "natter-bench-objstore", noAsyncTraces: true });
  try {
    const store = await new Objm(nc).create(bucket, { storage: StorageType.File });
    const piece = new Uint8Array(chunk).fill(7);
    let sent = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= size) return controller.close();
        const n = Math.min(chunk, size - sent);
        sent += n;
        controller.enqueue(n === chunk ? piece : piece.subarray(0, n));
      },
    }, { highWaterMark: 0 });
    const t0 = performance.now();
    await store.put({ name: "bench-file" }, source);
    const putMs = performance.now() - t0;
    const t1 = performance.now();
    const got = await store.get("bench-file");
    let bytes = 0;
    if (got) for await (const data of got.data) bytes += data.byteLength;
    const getMs = performance.now() - t1;
    await store.destroy();
    return { putMs, getMs, bytes };
  } finally {
    await nc.close();
  }
}

/** Publishes `count` records into `userId`'s inbox with `window` publishes in flight (setup, not measured). */
export async function fillInbox(side: JetStreamSide, userId: string, count: number, bodySize: number, window = 512): Promise<void> {
  const body = new Uint8Array(bodySize).fill(1);
  let next = 0;
  await Promise.all(Array.from({ length: window }, async () => {
    while (next < count) {
      next += 1;
      const id = crypto.randomUUID();
      await side.js.publish(side.n.inbox(userId), side.record(id, "00000000-0000-4000-8000-000000000000", body), { msgID: id });
    }
  }));
}

