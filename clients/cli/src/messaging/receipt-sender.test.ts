import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { v7 } from "uuid";
import { CliError } from "../errors.ts";
import { MessagingPeers } from "../testing/messaging-peers.ts";
import { RECEIPT_BATCH, ReceiptSender } from "./receipt-sender.ts";

describe("receipts", () => {
  const peers = new MessagingPeers();

  it("reach the sender as a receipt, never as a message, once", async () => {
    const [ana, bo] = [await peers.peer("anabel"), await peers.peer("bosco")];
    const { id } = await ana.messenger.send("bosco", "hi");
    await peers.drain(bo);
    await bo.messenger.sendReceipt("anabel", "delivered", [id]);
    const [msg] = peers.edge.inbox(ana.userId);
    const first = await ana.messenger.receive(msg!);
    assert.deepEqual(first, { kind: "receipt", receipt: { from: "bosco", fromId: bo.userId, receipt: "delivered", of: [id] }, newSession: false });
    assert.equal((await ana.messenger.receive(msg!)).kind, "duplicate");
    assert.deepEqual(ana.notices, []);
  });

  it("from someone blocked count for nothing", async () => {
    const [cy, di] = [await peers.peer("cyril"), await peers.peer("dina")];
    const { id } = await cy.messenger.send("dina", "hi");
    await peers.drain(di);
    await cy.home.writeBlocks({ [di.userId]: "dina" });
    await di.messenger.sendReceipt("cyril", "read", [id]);
    const [msg] = peers.edge.inbox(cy.userId);
    assert.equal((await cy.messenger.receive(msg!)).kind, "dropped");
  });

  it("go delivered before read, per user, in batches, and wait while the connection is down", async () => {
    const sent: string[] = [];
    let down = true;
    const sender = new ReceiptSender(async (user, kind, of) => {
      if (down) throw new CliError("CONNECTION_LOST");
      sent.push(`${user} ${kind} ${of.length}`);
    });
    const ids = Array.from({ length: RECEIPT_BATCH + 1 }, () => v7());
    for (const id of ids) {
      sender.add("eli", "read", id);
      sender.add("eli", "delivered", id);
    }
    sender.add("fay", "delivered", ids[0]!);
    sender.add("fay", "delivered", ids[0]!);
    await assert.rejects(sender.flush(), { code: "CONNECTION_LOST" });
    down = false;
    await sender.flush();
    assert.deepEqual(sent.sort(), [`eli delivered ${RECEIPT_BATCH}`, "eli delivered 1", `eli read ${RECEIPT_BATCH}`, "eli read 1", "fay delivered 1"].sort());
    assert.ok(sent.indexOf("eli delivered 1") < sent.indexOf(`eli read ${RECEIPT_BATCH}`), "every delivered before any read");
    await sender.flush();
    assert.equal(sent.length, 5, "nothing twice");
  });

  it("that are refused are dropped", async () => {
    let calls = 0;
    const sender = new ReceiptSender(async () => {
      calls++;
      throw new CliError("IDENTITY_CHANGED");
    });
    sender.add("gus", "delivered", v7());
    await sender.flush();
    await sender.flush();
    assert.equal(calls, 1, "tried once, then gone");
  });
});
