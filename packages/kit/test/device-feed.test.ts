import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import { names, type Names } from "@natter/protocol";
import { connectNats, DeviceFeeds, nextStored, ensureInboxStream, InboxWriter, type FeedDelivery, type NatsConnection } from "@natter/kit";
import { quietLogger, testServices, type TestServices } from "@natter/kit/testing";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const text = (d: FeedDelivery) => new TextDecoder().decode(d.data);

async function until(what: string, done: () => boolean, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !done(); await sleep(20)) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
  }
}

describe("device feeds", () => {
  let services: TestServices;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let n: Names;
  let writer: InboxWriter;
  let feeds: DeviceFeeds;
  const nextUser = () => crypto.randomUUID();

  before(async () => {
    services = await testServices();
    nc = await connectNats({ servers: services.natsUrl, name: "kit-feed-test", logger: quietLogger() });
    jsm = await jetstreamManager(nc);
    n = names(services.namespace);
    await ensureInboxStream(jsm, n);
    writer = new InboxWriter(jetstream(nc), n);
    feeds = new DeviceFeeds(nc, jetstream(nc), jsm, n);
  });

  after(async () => {
    feeds?.stop();
    await nc?.drain();
    await services?.cleanup();
  });

  const store = (to: string, ...ids: string[]) => Promise.all(ids.map((id) => writer.message(to, id, new TextEncoder().encode(id))));
  const waiting = async (to: string) => (await jsm.streams.info(n.inboxStream, { subjects_filter: n.inbox(to) })).state.subjects?.[n.inbox(to)] ?? 0;

  it("hands over what waited, then what arrives, each once and in order, and purges what was acked", async () => {
    const bob = nextUser();
    for (const id of ["w1", "w2", "w3"]) await store(bob, id);
    const got: FeedDelivery[] = [];
    const feed = await feeds.open(bob, { deliver: (d) => got.push(d), lost: (e) => assert.fail(e) });
    try {
      await until("what waited came", () => got.length === 3);
      assert.deepEqual(got.map(text), ["w1", "w2", "w3"], "what waited");
      for (const id of ["l1", "l2"]) await store(bob, id);
      await until("the live ones came", () => got.length === 5);
      await store(bob, "l1");
      await sleep(200);
      assert.deepEqual(got.map(text), ["w1", "w2", "w3", "l1", "l2"], "a duplicate send stores nothing and hands nothing");
      assert.ok(got.every((d, i) => i === 0 || d.seq > got[i - 1]!.seq), "in stream order");

      got[1]!.ack();
      await sleep(200);
      assert.equal(await waiting(bob), 5, "nothing is purged past an unacked delivery");
      for (const d of got) d.ack();
      for (let i = 0; i < 100 && (await waiting(bob)) > 0; i++) await sleep(20);
      assert.equal(await waiting(bob), 0);
    } finally {
      feed.stop();
    }
  });

  it("answers a request at its live subject while it runs (the account has a receiver), and hands nothing over for it", async () => {
    const ivy = nextUser();
    const asked = async () => {
      try {
        await nc.request(n.live(ivy), "ping", { timeout: 1000 });
        return true;
      } catch {
        return false;
      }
    };
    assert.equal(await asked(), false, "no feed yet");
    const got: FeedDelivery[] = [];
    const feed = await feeds.open(ivy, { deliver: (d) => got.push(d), lost: (e) => assert.fail(e) });
    assert.equal(await asked(), true, "its feed answers");
    feed.stop();
    await nc.flush();
    assert.equal(await asked(), false, "stopped, it no longer does");
    assert.equal(got.length, 0);
  });

  it("hands what was not acked to the next feed, and nothing that was", async () => {
    const carol = nextUser();
    await store(carol, "c1", "c2");
    const first: FeedDelivery[] = [];
    const feed = await feeds.open(carol, { deliver: (d) => first.push(d), lost: (e) => assert.fail(e) });
    await until("both came", () => first.length === 2);
    const sorted = [...first].sort((a, b) => a.seq - b.seq);
    sorted[0]!.ack();
    for (let i = 0; i < 100 && (await waiting(carol)) > 1; i++) await sleep(20);
    feed.stop();

    const again: FeedDelivery[] = [];
    const next = await feeds.open(carol, { deliver: (d) => again.push(d), lost: (e) => assert.fail(e) });
    await until("the unacked one came again", () => again.length === 1);
    await sleep(200);
    next.stop();
    assert.deepEqual(again.map(text), [text(sorted[1]!)]);
  });

  it("never holds more than a thousand unacked deliveries, and hands over the rest as they are acked", { timeout: 60_000 }, async () => {
    const dave = nextUser();
    const ids = Array.from({ length: 2500 }, (_, i) => `d${i}`);
    for (let i = 0; i < ids.length; i += 250) await store(dave, ...ids.slice(i, i + 250));
    const got: FeedDelivery[] = [];
    const feed = await feeds.open(dave, { deliver: (d) => got.push(d), lost: (e) => assert.fail(e) });
    try {
      await sleep(500);
      assert.equal(got.length, 1000, "a thousand, then it waits");
      // Live messages while the device is full are left to the catch-up too.
      await store(dave, "late");
      await sleep(200);
      assert.equal(got.length, 1000);
      let acked = 0;
      await until("everything came", () => {
        while (acked < got.length) got[acked++]!.ack();
        return got.length === ids.length + 1;
      }, 30_000);
      assert.deepEqual(new Set(got.map(text)).size, ids.length + 1, "each once");
      assert.equal(text(got.at(-1)!), "late", "in order, the late one last");
    } finally {
      feed.stop();
    }
  });

  it("finds a message whose live copy it never heard of, on its next sweep", { timeout: 30_000 }, async () => {
    const erin = nextUser();
    // A feed of its own, sweeping every 300 ms, whose subscription hears nothing: its
    // live subject is taken away, as a route that broke would.
    const deaf = new DeviceFeeds(nc, jetstream(nc), jsm, { ...n, live: () => `${n.namespace}.nowhere` }, undefined, { sweepMs: 300, ackWaitMs: 60_000 });
    const got: FeedDelivery[] = [];
    const feed = await deaf.open(erin, { deliver: (d) => got.push(d), lost: (e) => assert.fail(e) });
    try {
      await store(erin, "e1");
      await until("the sweep found it", () => got.length === 1, 5000);
      assert.equal(text(got[0]!), "e1");
    } finally {
      feed.stop();
      deaf.stop();
    }
  });

  it("sweeps a feed that hears nothing once a sweep's time, not at every look over the feeds", { timeout: 30_000 }, async () => {
    const hal = nextUser();
    const counted = await jetstreamManager(nc);
    let reads = 0;
    const getMessage = counted.streams.getMessage.bind(counted.streams);
    counted.streams.getMessage = (...args) => {
      reads++;
      return getMessage(...args);
    };
    const deaf = new DeviceFeeds(nc, jetstream(nc), counted, { ...n, live: () => `${n.namespace}.nowhere` }, undefined, { sweepMs: 300, ackWaitMs: 60_000 });
    const feed = await deaf.open(hal, { deliver: () => assert.fail("nothing was stored"), lost: (e) => assert.fail(e) });
    try {
      const started = reads;
      await sleep(3000);
      // A sweep every 300 ms, at the next look over the feed (every 100 ms): about eight in 3 s.
      assert.ok(reads - started >= 5 && reads - started <= 16, `${reads - started} sweeps in 3 s`);
    } finally {
      feed.stop();
      deaf.stop();
    }
  });

  it("looks again when the stream names a new leader it heard no advisory of (its NATS node was cut off, not disconnected)", { timeout: 30_000 }, async () => {
    const jay = nextUser();
    // What the stream's info names as its leader: a test's own, changed below as an
    // election the edge never heard of would change it.
    let leader = "n1";
    const watched = await jetstreamManager(nc);
    const info = watched.streams.info.bind(watched.streams);
    watched.streams.info = async (...args) => {
      const real = await info(...args);
      return { ...real, cluster: { ...real.cluster, name: "test", leader } };
    };
    // Deaf to the live subject (what was republished while cut off never came), sweeping only every minute.
    const deaf = new DeviceFeeds(nc, jetstream(nc), watched, { ...n, live: () => `${n.namespace}.nowhere` }, undefined, { sweepMs: 60_000, ackWaitMs: 60_000, watchMs: 100 });
    const got: FeedDelivery[] = [];
    const feed = await deaf.open(jay, { deliver: (d) => got.push(d), lost: (e) => assert.fail(e) });
    try {
      await sleep(300);
      await store(jay, "j1");
      await sleep(500);
      assert.equal(got.length, 0, "nothing heard live, the leader unchanged: nothing looked for yet");
      leader = "n2";
      await until("the new leader made it look", () => got.length === 1, 5000);
      assert.equal(text(got[0]!), "j1");
    } finally {
      feed.stop();
      deaf.stop();
    }
  });

  it("takes no stream state read while it handed over newer messages for a renumbering, and hands each message over once", { timeout: 30_000 }, async () => {
    const kim = nextUser();
    // The stream's state arrives late, as under load: messages stored and handed over
    // after it was read are newer than the last sequence it names.
    const slow = await jetstreamManager(nc);
    const info = slow.streams.info.bind(slow.streams);
    slow.streams.info = async (...args) => {
      const read = await info(...args);
      await sleep(100);
      return read;
    };
    const watched = new DeviceFeeds(nc, jetstream(nc), slow, n, undefined, { sweepMs: 60_000, ackWaitMs: 60_000, watchMs: 50 });
    const got: FeedDelivery[] = [];
    const feed = await watched.open(kim, { deliver: (d) => got.push(d), lost: (e) => assert.fail(e) });
    try {
      for (let i = 0; i < 40; i++) {
        await store(kim, `k${i}`);
        await sleep(20);
      }
      await until("all came", () => new Set(got.map(text)).size === 40, 10_000);
      await sleep(300);
      assert.equal(got.length, 40, "each message handed over once");
    } finally {
      feed.stop();
      watched.stop();
    }
  });

  it("reads the stream at once when a live message names a predecessor it never got", { timeout: 30_000 }, async () => {
    const fay = nextUser();
    // Deaf to the stream's own republishing, sweeping only every minute: what it hears
    // live is what this test publishes to its subject.
    const heard = `${n.namespace}.heard.${fay}`;
    const deaf = new DeviceFeeds(nc, jetstream(nc), jsm, { ...n, live: () => heard }, undefined, { sweepMs: 60_000, ackWaitMs: 60_000 });
    const got: FeedDelivery[] = [];
    const feed = await deaf.open(fay, { deliver: (d) => got.push(d), lost: (e) => assert.fail(e) });
    try {
      await store(fay, "f1");
      const stored = await nextStored(jsm, n.inboxStream, n.inbox(fay), 1);
      await sleep(300);
      assert.equal(got.length, 0, "nothing heard, nothing handed over");
      // The republished copy of a later message: its predecessor is f1.
      const later = headers();
      later.set("Nats-Sequence", String(stored!.seq + 1_000_000));
      later.set("Nats-Last-Sequence", String(stored!.seq));
      nc.publish(heard, new TextEncoder().encode("later"), { headers: later });
      await until("the gap was filled from the stream", () => got.length === 1, 5000);
      assert.equal(text(got[0]!), "f1");
    } finally {
      feed.stop();
      deaf.stop();
    }
  });

  it("hands a delivery over again when it goes unacked for the ack wait, until it is acked", { timeout: 30_000 }, async () => {
    const gus = nextUser();
    const quick = new DeviceFeeds(nc, jetstream(nc), jsm, n, undefined, { sweepMs: 60_000, ackWaitMs: 300 });
    const got: FeedDelivery[] = [];
    const feed = await quick.open(gus, { deliver: (d) => got.push(d), lost: (e) => assert.fail(e) });
    try {
      await store(gus, "g1");
      await until("it came three times", () => got.length >= 3, 5000);
      assert.deepEqual(new Set(got.map(text)), new Set(["g1"]));
      assert.ok(got.every((d) => d.seq === got[0]!.seq), "the same message each time");
      got.at(-1)!.ack();
      const count = got.length;
      await sleep(800);
      assert.ok(got.length <= count + 1, "acked: no more");
      for (let i = 0; i < 100 && (await waiting(gus)) > 0; i++) await sleep(20);
      assert.equal(await waiting(gus), 0, "and purged");
    } finally {
      feed.stop();
      quick.stop();
    }
  });
});
