import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { DiscardPolicy, JetStreamApiError, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { NoRespondersError, TimeoutError } from "@nats-io/transport-node";
import { connectNats, inboxRefusal, StorePublisher, type NatsConnection } from "@natter/kit";
import { quietLogger, testServices, type TestServices } from "@natter/kit/testing";

describe("publishing to a stream with one reply subscription", () => {
  let services: TestServices;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let stream: string;
  let subject: string;

  before(async () => {
    services = await testServices();
    nc = await connectNats({ servers: services.natsUrl, name: "kit-test-publisher", logger: quietLogger() });
    jsm = await jetstreamManager(nc);
    stream = `${services.namespace}_PUB`.replace(/[^A-Za-z0-9_-]/g, "_").toUpperCase();
    subject = `${services.namespace}.pub`;
    await jsm.streams.add({
      name: stream, subjects: [`${subject}.>`], max_msgs_per_subject: 2, discard: DiscardPolicy.New, discard_new_per_subject: true,
    });
  });

  after(async () => {
    await jsm?.streams.delete(stream).catch(() => false);
    await nc?.drain();
    await services?.cleanup();
  });

  it("answers with the stream's ack, once stored, and stores a repeated id once", async () => {
    const publisher = new StorePublisher(nc, undefined);
    try {
      const [first, second] = await Promise.all([
        publisher.publish(`${subject}.a`, new Uint8Array([1]), { msgID: "m1" }),
        publisher.publish(`${subject}.b`, new Uint8Array([2]), { msgID: "m2" }),
      ]);
      assert.equal(first.stream, stream);
      assert.equal(second.seq, first.seq + 1);
      const again = await publisher.publish(`${subject}.a`, new Uint8Array([1]), { msgID: "m1" });
      assert.equal(again.duplicate, true);
      assert.equal(again.seq, first.seq);
      const stored = await jsm.streams.getMessage(stream, { seq: first.seq });
      assert.equal(stored?.header.get("Nats-Msg-Id"), "m1");
    } finally {
      publisher.close();
    }
  });

  it("rejects a message the stream refuses as the library would, so the refusal is told apart", async () => {
    const publisher = new StorePublisher(nc, undefined);
    try {
      await publisher.publish(`${subject}.full`, new Uint8Array([1]), { msgID: "f1" });
      await publisher.publish(`${subject}.full`, new Uint8Array([2]), { msgID: "f2" });
      const refused = await publisher.publish(`${subject}.full`, new Uint8Array([3]), { msgID: "f3" }).then(() => undefined, (e: unknown) => e);
      assert.ok(refused instanceof JetStreamApiError, String(refused));
      assert.equal(inboxRefusal(refused), "INBOX_FULL");
    } finally {
      publisher.close();
    }
  });

  it("rejects with NoRespondersError when no stream takes the subject, and TimeoutError when nobody answers", async () => {
    const publisher = new StorePublisher(nc, undefined, 300);
    const silent = nc.subscribe(`${services.namespace}.silent`, { callback: () => undefined });
    try {
      await assert.rejects(publisher.publish(`${services.namespace}.nowhere`, new Uint8Array([1]), { msgID: "n1" }), NoRespondersError);
      await nc.flush();
      const started = Date.now();
      await assert.rejects(publisher.publish(`${services.namespace}.silent`, new Uint8Array([1]), { msgID: "s1" }), TimeoutError);
      assert.ok(Date.now() - started < 2_000, "within its timeout and a sweep");
    } finally {
      silent.unsubscribe();
      publisher.close();
    }
  });
});
