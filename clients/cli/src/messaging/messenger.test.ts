import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { v7 } from "uuid";
import type { HomeStore } from "../home-store.ts";
import type { LockedHome } from "../locked-home.ts";
import { MessagingPeers, type Peer } from "../testing/messaging-peers.ts";

/** The home files read, by file, in each locked operation (one entry per operation) and outside any lock. */
interface Reads {
  locked: Array<Record<string, number>>;
  unlocked: Record<string, number>;
}

/** Counts from now on every read of a home file that goes through `home` (the messenger's store). */
function spyOnReads(home: HomeStore): Reads {
  const reads: Reads = { locked: [], unlocked: {} };
  let current: Record<string, number> | undefined;
  const count = (file: string): void => {
    const into = current ?? reads.unlocked;
    into[file] = (into[file] ?? 0) + 1;
  };
  const withLock = home.withLock.bind(home);
  home.withLock = <T>(fn: (locked: LockedHome) => Promise<T>) =>
    withLock((locked) => {
      current = {};
      reads.locked.push(current);
      return fn(locked).finally(() => (current = undefined));
    });
  const [account, contacts, peer, group, pending, blocks] = [
    home.readAccount.bind(home), home.readContacts.bind(home), home.readPeerSessions.bind(home), home.readGroup.bind(home),
    home.readPendingFiles.bind(home), home.readBlocks.bind(home),
  ];
  home.readAccount = () => (count("account.json"), account());
  home.readContacts = () => (count("contacts.json"), contacts());
  home.readPeerSessions = (userId) => (count(`peers/${userId}.json`), peer(userId));
  home.readGroup = (groupId) => (count(`groups/${groupId}.json`), group(groupId));
  home.readPendingFiles = () => (count("pending-files.json"), pending());
  home.readBlocks = () => (count("blocks.json"), blocks());
  return reads;
}

describe("the messenger", () => {
  const peers = new MessagingPeers();
  const peer = (name: string) => peers.peer(name);

  it("shows a message delivered twice only once", async () => {
    const alice = await peer("erin");
    const bob = await peer("frank");
    await alice.messenger.send("frank", "once");
    const [msg] = peers.edge.inbox(bob.userId);
    const first = await bob.messenger.receive(msg!);
    const again = await bob.messenger.receive(msg!);
    assert.equal(first.kind, "message");
    assert.equal(again.kind, "duplicate");
  });

  it("hands out a file message again until its download settles", async () => {
    const [alice, bob] = await Promise.all(["abe", "bud"].map(peer)) as [Peer, Peer];
    const file = { id: v7(), key: "a".repeat(43), digest: "b".repeat(43), size: 3, mime: "text/plain", name: "x.txt" };
    await alice.messenger.sendPayload("bud", { type: "file", file, sentAt: 5 });
    const [msg] = peers.edge.inbox(bob.userId);
    const first = await bob.messenger.receive(msg!);
    assert.equal(first.kind === "message" && first.message.content.type, "file");
    const again = await bob.messenger.receive(msg!);
    assert.deepEqual(again.kind === "message" && again.message, first.kind === "message" && first.message, "redelivered before the download finished: the same file again");
    await bob.messenger.settleFile(msg!.id);
    assert.equal((await bob.messenger.receive(msg!)).kind, "duplicate");
  });

  it("reads each home file at most once in a locked operation, and none outside one, to send and to receive", async () => {
    const alice = await peer("wendy");
    const bob = await peer("xavi");
    const a = spyOnReads(alice.home);
    const b = spyOnReads(bob.home);
    const peerFile = (p: Peer) => `peers/${p.userId}.json`;

    // The first message: no session yet, so a bundle is claimed between two locked operations.
    await alice.messenger.send("xavi", "hello");
    assert.deepEqual(a, {
      locked: [{ "account.json": 1, "contacts.json": 1 }, { "account.json": 1, "contacts.json": 1, [peerFile(bob)]: 1 }],
      unlocked: {},
    });
    const [first] = peers.edge.inbox(bob.userId);
    assert.equal((await bob.messenger.receive(first!)).kind, "message");
    assert.deepEqual(b, { locked: [{ [peerFile(alice)]: 1, "account.json": 1, "contacts.json": 1, "blocks.json": 1 }], unlocked: {} });

    a.locked.length = 0;
    b.locked.length = 0;
    peers.edge.clearInbox(bob.userId);
    await alice.messenger.send("xavi", "again");
    assert.deepEqual(a, { locked: [{ "account.json": 1, "contacts.json": 1, [peerFile(bob)]: 1 }], unlocked: {} });
    const [next] = peers.edge.inbox(bob.userId);
    assert.equal((await bob.messenger.receive(next!)).kind, "message");
    assert.deepEqual(b, { locked: [{ [peerFile(alice)]: 1, "contacts.json": 1, "blocks.json": 1 }], unlocked: {} });
  });
});
