import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { jetstreamManager, RetentionPolicy, type JetStreamManager } from "@nats-io/jetstream";
import { names } from "@natter/protocol";
import { connectNats, ensureInboxStream, type NatsConnection } from "@natter/kit";
import { quietLogger, testServices, type TestServices } from "@natter/kit/testing";

describe("ensureInboxStream", () => {
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
});
