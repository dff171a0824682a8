/**
 * A device's feed across its edge's NATS connection going away: what the stream stored
 * while the edge was not subscribed was republished to nobody, and must still be handed
 * over once the connection is back, without waiting for the device to reconnect. Here a
 * private nats-server is killed and started again on the same port and store, and a
 * message is stored through another connection before the feed's own has reconnected.
 * Killed right after the stream's only message was purged, nats-server 2.9 comes back
 * numbering the stream from 1 again, so the new message has the very sequence the feed
 * handed over and purged before: the feed must not take it for that one.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { DeviceFeeds, ensureInboxStream, InboxWriter, type FeedDelivery } from "@natter/kit";
import { names } from "@natter/protocol";
import { startNatsNode, type NatsNode } from "./support/nats-server.ts";

const n = names("feedreconnect");
const bob = "d0a0b0c0-0000-4000-8000-000000000001";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const text = (d: FeedDelivery) => new TextDecoder().decode(d.data);

describe("a device's feed when its edge's NATS connection comes back", () => {
  let dir: string;
  let node: NatsNode;
  let edge: NatsConnection;
  let feeds: DeviceFeeds | undefined;
  const others: NatsConnection[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "natter-feed-"));
    node = await startNatsNode(dir);
    // The edge's connection tries again only every 3 s, so that the message below is stored
    // while it is away.
    edge = await connect({ servers: node.url, reconnectTimeWait: 3000, reconnectJitter: 0, maxReconnectAttempts: -1 });
    await ensureInboxStream(await jetstreamManager(edge), n);
  });
  after(async () => {
    feeds?.stop();
    for (const nc of [edge, ...others]) await nc?.close().catch(() => undefined);
    await node?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Stores `id` for bob through a connection of its own, as another edge would. */
  async function store(id: string): Promise<void> {
    const nc = await connect({ servers: node.url });
    others.push(nc);
    await new InboxWriter(jetstream(nc), n).message(bob, id, new TextEncoder().encode(id));
  }

  it("hands over what was stored while it was away, once it is back, and goes on live", { timeout: 60_000 }, async () => {
    feeds = new DeviceFeeds(edge, jetstream(edge), await jetstreamManager(edge), n);
    const got: FeedDelivery[] = [];
    const lost: Error[] = [];
    await feeds.open(bob, { deliver: (d) => { got.push(d); d.ack(); }, lost: (e) => lost.push(e) });
    await store("before");
    for (let i = 0; i < 50 && got.length < 1; i++) await sleep(100);
    assert.deepEqual(got.map(text), ["before"], "live before the fault");

    await node.stop("SIGKILL");
    await node.start();
    await store("while away");
    const storedAt = Date.now();
    for (let i = 0; i < 200 && got.length < 2; i++) await sleep(100);
    assert.deepEqual(got.map(text), ["before", "while away"], `handed over after the reconnect (lost: ${lost.map((e) => e.message).join("; ")})`);
    // Well before a sweep (every 2 minutes or so) would have found it.
    assert.ok(Date.now() - storedAt < 15_000, `after ${Date.now() - storedAt} ms`);

    await store("after");
    for (let i = 0; i < 50 && got.length < 3; i++) await sleep(100);
    assert.deepEqual(got.map(text), ["before", "while away", "after"], "and live again, each once");
    assert.deepEqual(lost, [], "the feed never gave up");
  });
});
