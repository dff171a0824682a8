import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { encodeDeliverFrame, encodeRecord, MAX_MESSAGE_BODY, NatterError, type InboxMessage } from "@natter/protocol";
import { ALICE, BOB, FakeBlocks, FakeBus, FakeClient, FakeInbox, FakeRecipients, FakeSendRates, RecordingMetrics } from "../../test/fakes.ts";
import { UserSendRates } from "../domain/user-send-rates.ts";
import { MessagingHandlers } from "./messaging.ts";

const MSG_ID = "00000000-0000-4000-8000-000000000001";
const GROUP_ID = "00000000-0000-4000-8000-00000000a001";
const refused = (code: string) => (error: unknown) => error instanceof NatterError && error.code === code;
const send = (body = new Uint8Array([1, 2, 3])) => ({ t: "send" as const, id: 1, msg: { id: MSG_ID, to: BOB.userId, body } });
const gsend = (body = new Uint8Array([4])) => ({ t: "gsend" as const, id: 2, msg: { id: MSG_ID, group: GROUP_ID, body } });

function setup() {
  const inbox = new FakeInbox();
  const blocks = new FakeBlocks();
  const metrics = new RecordingMetrics();
  const recipients = new FakeRecipients();
  const sendRates = new FakeSendRates();
  const handlers = new MessagingHandlers({ inbox, blocks, recipients, sendRates, metrics, clock: { now: () => 42 } });
  const client = new FakeClient();
  const bus = new FakeBus();
  client.identity = ALICE;
  client.membership = bus.join(ALICE, client.id, () => undefined);
  return { handlers, inbox, blocks, recipients, sendRates, metrics, bus, client };
}

const message = (id: string): InboxMessage => ({ v: 1, id, from: BOB.userId, fromName: "bob", body: new Uint8Array([9]), sentAt: 1 });
const delivery = (msg: InboxMessage, ack: () => void) => ({ id: msg.id, frame: encodeDeliverFrame(encodeRecord(msg)), ack });

describe("messaging handlers", () => {
  it("refuses sends beyond the user's rate", async () => {
    const { handlers, inbox, client, sendRates } = setup();
    sendRates.tokens.set(ALICE.userId, 0);
    await assert.rejects(handlers.send(client, send(), ALICE), refused("RATE_LIMITED"));
    await assert.rejects(handlers.gsend(client, gsend(), ALICE), refused("RATE_LIMITED"));
    assert.deepEqual([inbox.stored, inbox.groupStored], [[], []]);
  });

  it("holds a user to one rate over all of their connections", async () => {
    const inbox = new FakeInbox();
    const handlers = new MessagingHandlers({
      inbox, blocks: new FakeBlocks(), recipients: new FakeRecipients(), sendRates: new UserSendRates(1, () => 0), metrics: new RecordingMetrics(), clock: { now: () => 1 },
    });
    const [first, second] = [new FakeClient(), new FakeClient()];
    await handlers.send(first, send(), ALICE);
    await handlers.send(second, { ...send(), id: 2 }, ALICE);
    await assert.rejects(handlers.send(second, { ...send(), id: 3 }, ALICE), refused("RATE_LIMITED"));
    await assert.rejects(handlers.send(first, { ...send(), id: 4 }, ALICE), refused("RATE_LIMITED"));
    assert.equal(inbox.stored.length, 2);
  });

  it("refuses a send to an id nobody has, storing nothing", async () => {
    const { handlers, inbox, client, recipients } = setup();
    recipients.missing.add(BOB.userId);
    await assert.rejects(handlers.send(client, send(), ALICE), refused("NO_SUCH_USER"));
    assert.deepEqual(inbox.stored, []);
  });

  it("refuses a body over the limit", async () => {
    const { handlers, inbox, client } = setup();
    const tooLarge = new Uint8Array(MAX_MESSAGE_BODY + 1);
    await assert.rejects(handlers.send(client, send(tooLarge), ALICE), refused("MESSAGE_TOO_LARGE"));
    await assert.rejects(handlers.gsend(client, gsend(tooLarge), ALICE), refused("MESSAGE_TOO_LARGE"));
    assert.deepEqual([inbox.stored, inbox.groupStored], [[], []]);
  });

  it("accepts a blocked sender's message without storing it", async () => {
    const { handlers, inbox, blocks, metrics, client } = setup();
    blocks.blocking.set(BOB.userId, new Set([ALICE.userId]));
    await handlers.send(client, send(), ALICE);
    assert.deepEqual(client.pushed, [{ t: "accepted", id: 1, msgId: MSG_ID }], "the sender is not told");
    assert.deepEqual(inbox.stored, []);
    assert.equal(metrics.counts.accepted, 0);
  });

  it("accepts only once the message is stored, stamped with the sender", async () => {
    const { handlers, inbox, metrics, client } = setup();
    inbox.hold = true;
    const sending = handlers.send(client, send(), ALICE);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(client.pushed, [], "nothing accepted before it is stored");
    inbox.release();
    await sending;
    assert.deepEqual(inbox.stored, [{
      to: BOB.userId,
      message: { v: 1, id: MSG_ID, from: ALICE.userId, fromName: "alice", body: new Uint8Array([1, 2, 3]), sentAt: 42 },
    }]);
    assert.deepEqual(client.pushed, [{ t: "accepted", id: 1, msgId: MSG_ID }]);
    assert.equal(metrics.counts.accepted, 1);
  });

  it("stores a group message for fan-out, stamped with the sender", async () => {
    const { handlers, inbox, client } = setup();
    await handlers.gsend(client, gsend(), ALICE);
    assert.deepEqual(inbox.groupStored, [{ v: 1, id: MSG_ID, from: ALICE.userId, fromName: "alice", groupId: GROUP_ID, body: new Uint8Array([4]), sentAt: 42 }]);
    assert.deepEqual(client.pushed, [{ t: "accepted", id: 2, msgId: MSG_ID }]);
  });

  it("answers UNAVAILABLE when the message cannot be stored", async () => {
    const { handlers, inbox, metrics, client } = setup();
    inbox.failing = true;
    await assert.rejects(handlers.send(client, send(), ALICE), refused("UNAVAILABLE"));
    await assert.rejects(handlers.gsend(client, gsend(), ALICE), refused("UNAVAILABLE"));
    assert.deepEqual(client.pushed, []);
    assert.equal(metrics.counts.publishFailed, 2);
  });

  it("feeds a receiving connection its inbox, and acks each delivery once, when the client acks it", async () => {
    const { handlers, inbox, metrics, client } = setup();
    await handlers.receive(client, { t: "receive", id: 3 }, ALICE);
    assert.deepEqual(client.pushed, [{ t: "ok", id: 3 }]);
    assert.deepEqual(inbox.feeds.map((f) => f.userId), [ALICE.userId]);

    const acked: string[] = [];
    const waiting = message("00000000-0000-4000-8000-000000000101");
    inbox.feeds[0]!.deliver(delivery(waiting, () => acked.push(waiting.id)));
    assert.deepEqual(client.frames("deliver"), [{ t: "deliver", msg: waiting }]);
    assert.equal(metrics.counts.delivered, 1);

    handlers.ack(client, { t: "ack", msgId: "00000000-0000-4000-8000-000000000999" });
    handlers.ack(client, { t: "ack", msgId: waiting.id });
    handlers.ack(client, { t: "ack", msgId: waiting.id });
    assert.deepEqual(acked, [waiting.id]);

    await handlers.receive(client, { t: "receive", id: 4 }, ALICE);
    assert.equal(inbox.feeds.length, 1, "a second receive keeps the feed");
    assert.deepEqual(client.pushed.at(-1), { t: "ok", id: 4 });
  });

  it("lets one connection of an account receive at a time", async () => {
    const { handlers, inbox, bus, client } = setup();
    bus.receiverTaken = true;
    await assert.rejects(handlers.receive(client, { t: "receive", id: 5 }, ALICE), refused("ALREADY_RECEIVING"));
    assert.deepEqual(inbox.feeds, []);
  });

  it("closes the connection when its feed is lost, so the client reconnects", async () => {
    const { handlers, inbox, client } = setup();
    await handlers.receive(client, { t: "receive", id: 6 }, ALICE);
    inbox.feeds[0]!.lose(new Error("consumer deleted"));
    assert.equal(client.closed, true);
  });

  it("stops the feed and forgets what was not acked when the connection closes", async () => {
    const { handlers, inbox, client } = setup();
    await handlers.receive(client, { t: "receive", id: 7 }, ALICE);
    inbox.feeds[0]!.deliver(delivery(message("00000000-0000-4000-8000-000000000102"), () => assert.fail("never acked")));
    handlers.closed(client);
    assert.equal(inbox.feeds[0]!.stopped, true);
    assert.equal(client.unacked?.size, 0);
  });

  it("stops deliveries when the edge shuts down", async () => {
    const { handlers, inbox, client } = setup();
    await handlers.receive(client, { t: "receive", id: 8 }, ALICE);
    handlers.stop(client);
    assert.equal(inbox.feeds[0]!.stopped, true);
    assert.equal(client.feed, undefined);
  });
});
