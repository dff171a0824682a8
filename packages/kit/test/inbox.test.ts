import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { jetstreamManager, RetentionPolicy, type JetStreamManager } from "@nats-io/jetstream";
import { names } from "@natter/protocol";
import { connectNats, ensureInboxStream, InboxWriter, publishWithRetry, type NatsConnection } from "@natter/kit";
import { quietLogger, testServices, type TestServices } from "@natter/kit/testing";

describe("the inbox", () => {
  let services: TestServices;
  let nc: NatsConnection;
  let jsm: JetStreamManager;

  before(async () => {
    services = await testServices();
    nc = await connectNats({ servers: services.natsUrl, name: "kit-test", logger: quietLogger() });
    jsm = await jetstreamManager(nc);
  });

  after(async () => {
    await nc?.drain();
    await services?.cleanup();
  });

  it("creates the stream once and can be run again, also concurrently", async () => {
    const n = names(services.namespace);
    await ensureInboxStream(jsm, n);
    await Promise.all([ensureInboxStream(jsm, n), ensureInboxStream(jsm, n)]);
    const info = await jsm.streams.info(n.inboxStream);
    assert.deepEqual(info.config.subjects, [n.inboxWildcard]);
    assert.equal(info.config.retention, RetentionPolicy.Workqueue);
    assert.equal(info.config.max_msgs_per_subject, 100_000);
    assert.equal(info.config.duplicate_window, 120 * 1e9);
    assert.equal(info.config.max_age, 30 * 24 * 3600 * 1e9);
  });

  it("dedups by Nats-Msg-Id", async () => {
    const n = names(services.namespace);
    const { jetstream } = await import("@nats-io/jetstream");
    const js = jetstream(nc);
    const subject = n.inbox("11111111-1111-4111-8111-111111111111");
    const first = await js.publish(subject, "a", { msgID: "m1" });
    const again = await js.publish(subject, "a", { msgID: "m1" });
    assert.equal(again.duplicate, true);
    assert.equal(again.seq, first.seq);
  });

  it("stores a 1:1 message once by its id, and a fan-out copy once per recipient", async () => {
    const n = names(services.namespace);
    const { jetstream } = await import("@nats-io/jetstream");
    const writer = new InboxWriter(jetstream(nc), n);
    const [ann, bob] = ["22222222-2222-4222-8222-222222222222", "33333333-3333-4333-8333-333333333333"];
    const record = new Uint8Array([1, 2, 3]);
    await writer.message(ann, "m2", record);
    await writer.message(ann, "m2", record);
    await writer.copies([ann, bob], "m2", record);
    await writer.copies([ann, bob], "m2", record);
    const info = await jsm.streams.info(n.inboxStream, { subjects_filter: n.inboxWildcard });
    assert.equal(info.state.subjects?.[n.inbox(ann)], 2, "the message and ann's copy");
    assert.equal(info.state.subjects?.[n.inbox(bob)], 1, "bob's copy");
  });
});

describe("publishWithRetry", () => {
  it("tries again with the same Nats-Msg-Id until the stream answers", async () => {
    const ids: string[] = [];
    const js = {
      publish: async (_subject: string, _data: Uint8Array, opts: { msgID: string }) => {
        ids.push(opts.msgID);
        if (ids.length < 3) throw new Error("no leader");
        return { seq: 1, duplicate: false, stream: "INBOX" };
      },
    };
    await publishWithRetry(js as never, "inbox.x", new Uint8Array(), "m3");
    assert.deepEqual(ids, ["m3", "m3", "m3"]);
  });
});
