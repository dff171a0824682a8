import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HomeStore } from "./home-store.ts";
import type { LockedHome } from "./locked-home.ts";
import { tempDir } from "./testing/harness.ts";

const USER = "0190a8c4-5d6e-7f00-8a00-000000000001";
const account = { v: 1 as const, userId: USER, username: "alice", device: { any: "thing" } };
const contact = { username: "bob", identityKey: "k", firstSeen: 1 };

/** Counts the store's reads of contacts.json. */
function countContactReads(home: HomeStore): { reads: number } {
  const counter = { reads: 0 };
  const read = home.readContacts.bind(home);
  home.readContacts = () => {
    counter.reads++;
    return read();
  };
  return counter;
}

describe("the home under its lock", () => {
  it("reads a file once in an operation, and then sees what it wrote", async () => {
    await using dir = await tempDir();
    const home = await HomeStore.open(dir.path);
    await home.writeContacts({ [USER]: contact });
    const counter = countContactReads(home);
    await home.withLock(async (locked) => {
      assert.deepEqual(await locked.contacts(), { [USER]: contact });
      assert.deepEqual(await locked.contacts(), { [USER]: contact });
      await locked.writeContacts({});
      assert.deepEqual(await locked.contacts(), {});
    });
    assert.equal(counter.reads, 1);
    // The write reached the disk at once, as the store writes it.
    assert.deepEqual(await home.readContacts(), {});
    // The next operation reads afresh: another process may have written in between.
    await home.withLock(async (locked) => void (await locked.contacts()));
    assert.equal(counter.reads, 3);
  });

  it("hands out copies, so a change is nothing until it is written", async () => {
    await using dir = await tempDir();
    const home = await HomeStore.open(dir.path);
    await home.writeAccount(account);
    await home.withLock(async (locked) => {
      const mine = await locked.loggedIn();
      mine.username = "mallory";
      assert.equal((await locked.account())?.username, "alice");
      const written = { ...account, username: "carol" };
      await locked.writeAccount(written);
      written.username = "dave";
      assert.equal((await locked.account())?.username, "carol");
    });
    assert.equal((await home.readAccount())?.username, "carol");
  });

  it("keeps one view per peer and per group, whatever the case of the id", async () => {
    await using dir = await tempDir();
    const home = await HomeStore.open(dir.path);
    await home.withLock(async (locked) => {
      await locked.writePeerSessions(USER, [{ s: 1 }]);
      assert.deepEqual(await locked.peerSessions(USER.toUpperCase()), [{ s: 1 }]);
      assert.equal(await locked.group(USER), undefined);
    });
    assert.deepEqual(await home.readPeerSessions(USER), [{ s: 1 }]);
  });

  it("says NOT_LOGGED_IN for a home with no account", async () => {
    await using dir = await tempDir();
    const home = await HomeStore.open(dir.path);
    await assert.rejects(home.withLock((locked) => locked.loggedIn()), { code: "NOT_LOGGED_IN" });
  });

  it("cannot be used once the lock is released", async () => {
    await using dir = await tempDir();
    const home = await HomeStore.open(dir.path);
    let kept: LockedHome | undefined;
    await home.withLock(async (locked) => {
      kept = locked;
    });
    await assert.rejects(async () => kept!.contacts(), /after its lock was released/);
    await assert.rejects(async () => kept!.markSeen("0190a8c4-5d6e-7f00-8a00-000000000002"), /after its lock was released/);
  });
});
