import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { AckPolicy, DiscardPolicy, jetstream, JetStreamApiError, jetstreamManager, RetentionPolicy, type JetStreamManager } from "@nats-io/jetstream";
import { names } from "@natter/protocol";
import { connectNats, copyMsgId, RetryBudget, ensureInboxStream, nextStored, ensureWorkQueue, inboxRefusal, InboxWriter, messageIdOf, publishWithRetry, type NatsConnection } from "@natter/kit";
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
    assert.equal(info.config.retention, RetentionPolicy.Limits);
    assert.deepEqual(info.config.republish, { src: n.inboxWildcard, dest: n.live("{{wildcard(1)}}") });
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

  it("reads a stored record's message id back from its Nats-Msg-Id, for a 1:1 message and a member's copy", () => {
    const [ann, bob, id] = ["22222222-2222-4222-8222-222222222222", "33333333-3333-4333-8333-333333333333", "44444444-4444-4444-8444-444444444444"];
    assert.equal(messageIdOf(id, ann), id);
    assert.equal(messageIdOf(copyMsgId(id, ann), ann), id);
    assert.equal(messageIdOf(copyMsgId(id, bob), ann), undefined, "another member's copy");
    assert.equal(messageIdOf("legacy-12", ann), undefined);
    assert.equal(messageIdOf(undefined, ann), undefined);
  });
});

describe("the inbox's caps", () => {
  let services: TestServices;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const [ann, bob] = ["44444444-4444-4444-8444-444444444444", "55555555-5555-4555-8555-555555555555"];

  before(async () => {
    services = await testServices();
    nc = await connectNats({ servers: services.natsUrl, name: "kit-test-caps", logger: quietLogger() });
    jsm = await jetstreamManager(nc);
  });

  after(async () => {
    await nc?.drain();
    await services?.cleanup();
  });

  /** A namespace of its own for each test, its stream deleted after. */
  async function withInbox(test: (n: ReturnType<typeof names>) => Promise<void>): Promise<void> {
    const n = names(`${services.namespace}-${Math.random().toString(36).slice(2, 8)}`);
    try {
      await test(n);
    } finally {
      await jsm.streams.delete(n.inboxStream).catch(() => false);
      await jsm.streams.delete(n.legacyInboxStream).catch(() => false);
    }
  }

  it("refuses a user's message past the cap with INBOX_FULL, evicts nothing, and still stores for others", () => withInbox(async (n) => {
    await ensureInboxStream(jsm, n, { caps: { maxPerUser: 3, maxBytes: 1024 * 1024 } });
    const writer = new InboxWriter(jetstream(nc), n);
    for (const id of ["a1", "a2", "a3"]) await writer.message(ann, id, new Uint8Array([1]));
    const refused = await writer.message(ann, "a4", new Uint8Array([1])).then(() => undefined, (error: unknown) => error);
    assert.equal(inboxRefusal(refused), "INBOX_FULL");
    await writer.message(bob, "b1", new Uint8Array([1]));
    const info = await jsm.streams.info(n.inboxStream, { subjects_filter: n.inboxWildcard });
    assert.equal(info.state.subjects?.[n.inbox(ann)], 3);
    assert.equal(info.state.first_seq, 1, "the oldest is still there");
  }));

  it("names the recipients of a fan-out whose inbox is full, and stores the others' copies", () => withInbox(async (n) => {
    await ensureInboxStream(jsm, n, { caps: { maxPerUser: 1, maxBytes: 1024 * 1024 } });
    const writer = new InboxWriter(jetstream(nc), n);
    await writer.message(ann, "first", new Uint8Array([1]));
    assert.deepEqual(await writer.copies([ann, bob], "g1", new Uint8Array([2])), { full: [ann] });
    const info = await jsm.streams.info(n.inboxStream, { subjects_filter: n.inboxWildcard });
    assert.equal(info.state.subjects?.[n.inbox(bob)], 1);
  }));

  it("refuses any message past the stream's byte limit with STORAGE_FULL", () => withInbox(async (n) => {
    await ensureInboxStream(jsm, n, { caps: { maxPerUser: 1000, maxBytes: 4096 } });
    const writer = new InboxWriter(jetstream(nc), n);
    await writer.message(ann, "big1", new Uint8Array(3000));
    const refused = await writer.message(bob, "big2", new Uint8Array(3000)).then(() => undefined, (error: unknown) => error);
    assert.equal(inboxRefusal(refused), "STORAGE_FULL");
  }));

  it("moves the messages of an earlier natter's work-queue inbox into the new stream, and deletes the old one", () => withInbox(async (n) => {
    await ensureWorkQueue(jsm, { name: n.legacyInboxStream, subjects: [n.inboxWildcard], num_replicas: 1, max_msgs_per_subject: 50, max_bytes: 1024 * 1024, discard: DiscardPolicy.New, discard_new_per_subject: true });
    await jsm.consumers.add(n.legacyInboxStream, { durable_name: "dev_old", filter_subject: n.inbox(ann), ack_policy: AckPolicy.Explicit });
    const legacy = new InboxWriter(jetstream(nc), n);
    for (const id of ["a1", "a2"]) await legacy.message(ann, id, new TextEncoder().encode(id));
    await legacy.message(bob, "b1", new TextEncoder().encode("b1"));

    await Promise.all([ensureInboxStream(jsm, n), ensureInboxStream(jsm, n)]);
    await assert.rejects(jsm.streams.info(n.legacyInboxStream), /not found/);
    const info = await jsm.streams.info(n.inboxStream, { subjects_filter: n.inboxWildcard });
    assert.deepEqual(info.state.subjects, { [n.inbox(ann)]: 2, [n.inbox(bob)]: 1 }, "each message once, under its subject");
    assert.deepEqual([info.config.max_msgs_per_subject, info.config.max_bytes], [50, 1024 * 1024], "the old stream's caps");
    const first = await nextStored(jsm, n.inboxStream, n.inbox(ann), 1);
    assert.equal(first?.header.get("Nats-Msg-Id"), "a1", "its id kept, so a retried send is still a duplicate");
    await ensureInboxStream(jsm, n);
    assert.equal((await jsm.streams.info(n.inboxStream)).state.messages, 3, "run again: nothing more");
  }));

  it("keeps the caps an edge set when a service that does not own them ensures the stream", () => withInbox(async (n) => {
    await ensureInboxStream(jsm, n, { caps: { maxPerUser: 7, maxBytes: 1024 * 1024 } });
    await ensureInboxStream(jsm, n);
    const info = await jsm.streams.info(n.inboxStream);
    assert.deepEqual([info.config.max_msgs_per_subject, info.config.max_bytes], [7, 1024 * 1024]);
  }));
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

  it("does not try again when a cap refused the message", async () => {
    let tries = 0;
    const js = {
      publish: async () => {
        tries += 1;
        throw new JetStreamApiError({ code: 503, err_code: 10077, description: "maximum messages per subject exceeded" });
      },
    };
    await assert.rejects(publishWithRetry(js as never, "inbox.x", new Uint8Array(), "m4"), (error: unknown) => inboxRefusal(error) === "INBOX_FULL");
    assert.equal(tries, 1);
  });

  it("tries again only as far as its budget goes, which successes fill again", async () => {
    // Each success earns half a retry; three retries saved to begin with.
    const budget = new RetryBudget(0.5, 10, 3);
    let up = false;
    let tries = 0;
    const js = {
      publish: async () => {
        tries += 1;
        if (!up) throw new Error("timeout");
        return { seq: 1, duplicate: false, stream: "INBOX" };
      },
    };
    await assert.rejects(publishWithRetry(js as never, "inbox.x", new Uint8Array(), "a", budget));
    assert.equal(tries, 4, "tried once and three times again");
    tries = 0;
    await assert.rejects(publishWithRetry(js as never, "inbox.x", new Uint8Array(), "b", budget));
    assert.equal(tries, 1, "then once: nothing is left to try again with");
    up = true;
    for (let i = 0; i < 4; i++) await publishWithRetry(js as never, "inbox.x", new Uint8Array(), `c${i}`, budget);
    up = false;
    tries = 0;
    await assert.rejects(publishWithRetry(js as never, "inbox.x", new Uint8Array(), "d", budget));
    assert.equal(tries, 3, "four successes earned two retries");
  });
});
