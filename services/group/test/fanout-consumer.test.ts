import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { connectNats, type NatsConnection } from "@natter/kit";
import { quietLogger, testServices, type TestServices } from "@natter/kit/testing";
import { encodeRecord, names, type GroupEnvelope, type InboxMessage, type Names } from "@natter/protocol";
import { FANOUT_CONSUMER, startFanoutConsumer, type FanoutConsumer } from "../src/adapters/nats/fanout-consumer.ts";
import { ensureGroupStream } from "../src/adapters/nats/group-stream.ts";
import { GroupFanout } from "../src/domain/fanout.ts";

/**
 * The fan-out consumer on real NATS, with an inbox that answers slowly, as the INBOX
 * stream does while its leader is being elected: a message that waits its turn behind
 * slow ones must not be handed over again by JetStream and copied a second time.
 */
describe("the group fan-out consumer while the inbox is slow", () => {
  let services: TestServices;
  let n: Names;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let consumer: FanoutConsumer | undefined;
  const groupId = randomUUID();
  const sender = randomUUID();
  const members = [sender, randomUUID(), randomUUID()];
  /** Every copy the fan-out made, by message id: each should be made once. */
  const handled = new Map<string, number>();

  before(async () => {
    services = await testServices();
    n = names(services.namespace);
    nc = await connectNats({ servers: services.natsUrl, name: "fanout-test", logger: quietLogger() });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    await ensureGroupStream(jsm, n);
  });

  after(async () => {
    await consumer?.stop();
    await nc?.drain();
    await services?.cleanup();
  });

  it("copies each message once, however long it waits behind the others", async () => {
    const slowMs = 700;
    const ackWaitMs = 1000;
    const inbox = {
      async publish(message: InboxMessage, recipients: readonly string[]) {
        await new Promise((resolve) => setTimeout(resolve, slowMs));
        handled.set(message.id, (handled.get(message.id) ?? 0) + recipients.length);
        return { full: [] };
      },
    };
    const store = { recipients: async () => ({ name: "slow", memberIds: members }) };
    consumer = await startFanoutConsumer({ js, jsm, n, fanout: new GroupFanout({ store, inbox }), logger: quietLogger(), ackWaitMs, window: 1 });

    // Five messages of one group, one on its way at a time: the last waits 2.8 s, far past the ack wait.
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) {
      const env: GroupEnvelope = { v: 1, id: randomUUID(), from: sender, fromName: "ann", groupId, body: new Uint8Array([i]), sentAt: Date.now() };
      await js.publish(n.group(groupId), encodeRecord(env), { msgID: env.id });
      sent.push(env.id);
    }
    const deadline = Date.now() + 15_000;
    for (;;) {
      const info = await jsm.consumers.info(n.groupStream, FANOUT_CONSUMER);
      if (info.num_pending === 0 && info.num_ack_pending === 0 && handled.size === sent.length) break;
      assert.ok(Date.now() < deadline, `the fan-out did not settle: ${JSON.stringify(info.num_ack_pending)} waiting for an ack`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // What a redelivery would have copied again, given time to arrive.
    await new Promise((resolve) => setTimeout(resolve, ackWaitMs + slowMs));
    assert.deepEqual(sent.map((id) => handled.get(id)), sent.map(() => members.length - 1), "each message copied once to each other member");
  });

  it("starts a group's next message before the last one's copies are stored, in the group's order", async () => {
    await consumer?.stop();
    consumer = undefined;
    await jsm.consumers.delete(n.groupStream, FANOUT_CONSUMER);
    const groupId2 = randomUUID();
    const started: string[] = [];
    let storing = 0;
    let mostAtOnce = 0;
    const inbox = {
      async publish(message: InboxMessage) {
        started.push(message.id);
        storing += 1;
        mostAtOnce = Math.max(mostAtOnce, storing);
        await new Promise((resolve) => setTimeout(resolve, 300));
        storing -= 1;
        return { full: [] };
      },
    };
    const store = { recipients: async () => ({ name: "busy", memberIds: members }) };
    consumer = await startFanoutConsumer({ js, jsm, n, fanout: new GroupFanout({ store, inbox }), logger: quietLogger(), window: 4 });
    const sent: string[] = [];
    for (let i = 0; i < 12; i++) {
      const env: GroupEnvelope = { v: 1, id: randomUUID(), from: sender, fromName: "ann", groupId: groupId2, body: new Uint8Array([i]), sentAt: Date.now() };
      await js.publish(n.group(groupId2), encodeRecord(env), { msgID: env.id });
      sent.push(env.id);
    }
    const deadline = Date.now() + 15_000;
    for (;;) {
      const info = await jsm.consumers.info(n.groupStream, FANOUT_CONSUMER);
      if (info.num_pending === 0 && info.num_ack_pending === 0 && started.length >= sent.length) break;
      assert.ok(Date.now() < deadline, "the fan-out did not settle");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.deepEqual(started, sent, "handed to the inbox once each, in the stream's order");
    assert.equal(mostAtOnce, 4, "four on their way at once, never more");
  });
});

/**
 * A stream numbered anew (nats-server 2.9 after a crash or a partition) gives a new message
 * the sequence of one the fan-out still has in hand. The consumer here is JetStream's
 * interface played by the test, so that it can hand over such a pair.
 */
describe("the group fan-out consumer when a stream reuses a sequence", () => {
  it("copies a new message that comes with the sequence of one still in hand, and acks each for itself", async () => {
    const n = names(`renumbered${randomUUID().slice(0, 8)}`);
    const groupId = randomUUID();
    const members = [randomUUID(), randomUUID()];
    const copied: string[] = [];
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    const inbox = {
      async publish(message: InboxMessage) {
        if (copied.length === 0) await firstHeld;
        copied.push(message.id);
        return { full: [] };
      },
    };
    const store = { recipients: async () => ({ name: "renumbered", memberIds: members }) };
    const acked: string[] = [];
    let deliver!: (m: unknown) => void;
    const fakeMsg = (seq: number, env: GroupEnvelope) => ({
      seq,
      subject: n.group(groupId),
      data: encodeRecord(env),
      headers: { get: (name: string) => (name === "Nats-Msg-Id" ? env.id : "") },
      info: { deliveryCount: 1 },
      ack: () => acked.push(env.id),
      nak: () => undefined,
      term: () => undefined,
      working: () => undefined,
    });
    const js = {
      consumers: {
        get: async () => ({
          consume: async (options: { callback: (m: unknown) => void }) => {
            deliver = options.callback;
            return { closed: () => new Promise(() => undefined), stop: () => undefined };
          },
        }),
      },
    };
    const jsm = { consumers: { add: async () => ({}) } };
    const consumer = await startFanoutConsumer({
      js: js as never, jsm: jsm as never, n, fanout: new GroupFanout({ store, inbox }), logger: quietLogger(), window: 4,
    });
    try {
      const envelope = (i: number): GroupEnvelope => ({ v: 1, id: randomUUID(), from: members[0]!, fromName: "ann", groupId, body: new Uint8Array([i]), sentAt: Date.now() });
      const [first, second] = [envelope(1), envelope(2)];
      deliver(fakeMsg(7, first));
      await new Promise((resolve) => setTimeout(resolve, 50));
      deliver(fakeMsg(7, second));
      releaseFirst();
      const deadline = Date.now() + 5000;
      while (copied.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(copied, [first.id, second.id], "both messages copied, in order");
      assert.deepEqual(acked.sort(), [first.id, second.id].sort(), "each acked through its own delivery");
    } finally {
      await consumer.stop();
    }
  });
});
