import assert from "node:assert/strict";
import { readdir, readFile, stat, writeFile, chmod } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { v7 } from "uuid";
import { HomeStore } from "./home-store.ts";
import { tempDir } from "./testing/harness.ts";

const USER = "0190a8c4-5d6e-7f00-8a00-000000000001";

const account = { v: 1 as const, userId: USER, username: "alice", device: { any: "thing" } };
const session = { v: 1 as const, userId: USER, token: "t", refresh: "r", expiresAt: 1, servers: ["127.0.0.1:7400"] };

describe("the home store", () => {
  it("keeps the home 0700 and every file 0600", async () => {
    await using dir = await tempDir();
    const home = await HomeStore.open(join(dir.path, "home"));
    await home.writeAccount(account);
    await home.writeSession(session);
    await home.writeContacts({ [USER]: { username: "alice", identityKey: "k", firstSeen: 1 } });
    await home.writePeerSessions(USER, [{ s: 1 }]);
    await home.markSeen(v7());
    assert.equal((await stat(home.dir)).mode & 0o777, 0o700);
    assert.equal((await stat(join(home.dir, "peers"))).mode & 0o777, 0o700);
    for (const f of ["account.json", "session.json", "contacts.json", "seen.log", `peers/${USER}.json`]) {
      assert.equal((await stat(join(home.dir, f))).mode & 0o777, 0o600, f);
    }
  });

  it("tightens a home that was left open to others", async () => {
    await using dir = await tempDir();
    await chmod(dir.path, 0o755);
    const home = await HomeStore.open(dir.path);
    assert.equal((await stat(home.dir)).mode & 0o777, 0o700);
  });

  it("replaces files atomically and leaves no temp files behind", async () => {
    await using dir = await tempDir();
    const home = await HomeStore.open(dir.path);
    await writeFile(join(dir.path, "session.json"), "{}", { mode: 0o644 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => home.writeSession({ ...session, token: `t${i}` })));
    const read = await home.readSession();
    assert.match(read!.token, /^t\d+$/);
    assert.equal((await stat(join(dir.path, "session.json"))).mode & 0o777, 0o600);
    assert.deepEqual((await readdir(dir.path)).filter((f) => f.endsWith(".tmp")), []);
  });

  it("round-trips what it stores and reads nothing from an empty home", async () => {
    await using dir = await tempDir();
    const home = await HomeStore.open(dir.path);
    assert.equal(await home.readAccount(), undefined);
    assert.equal(await home.readSession(), undefined);
    assert.deepEqual(await home.readContacts(), {});
    assert.deepEqual(await home.readPeerSessions(USER), []);
    await home.writeAccount(account);
    assert.deepEqual(await home.readAccount(), account);
  });

  it("refuses a file it does not understand, naming the file but not its content", async () => {
    await using dir = await tempDir();
    const home = await HomeStore.open(dir.path);
    await writeFile(join(dir.path, "session.json"), JSON.stringify({ v: 1, token: "secret-token" }));
    await assert.rejects(home.readSession(), (err: Error) => {
      assert.equal((err as { code?: string }).code, "BAD_HOME");
      assert.match(err.message, /session\.json/);
      assert.doesNotMatch(err.message, /secret-token/);
      return true;
    });
  });

  it("never lets a user id name a file outside the home", async () => {
    await using dir = await tempDir();
    const home = await HomeStore.open(dir.path);
    await assert.rejects(home.writePeerSessions("../../etc/passwd", []));
  });

  it("remembers shown ids up to its bound, forgetting the oldest", async () => {
    await using dir = await tempDir();
    const home = await HomeStore.open(dir.path, { seenLimit: 5 });
    const ids = Array.from({ length: 23 }, () => v7());
    for (const id of ids) await home.markSeen(id);
    for (const id of ids.slice(-5)) assert.equal(await home.hasSeen(id), true);
    assert.equal(await home.hasSeen(ids[0]!), false);
    const lines = (await readFile(join(dir.path, "seen.log"), "utf8")).split("\n").filter(Boolean);
    assert.ok(lines.length <= 10, `${lines.length} lines`);
    // Another process's view agrees.
    const other = await HomeStore.open(dir.path, { seenLimit: 5 });
    assert.equal(await other.hasSeen(ids.at(-1)!), true);
  });

  it("remembers the base keys of accepted sessions up to its bound, owner-only, and forgets them with the user", async () => {
    await using dir = await tempDir();
    const home = await HomeStore.open(join(dir.path, "home"), { acceptedBaseKeyLimit: 2 });
    for (const key of ["k1", "k2", "k3"]) await home.rememberBaseKey(key);
    assert.deepEqual([await home.hasAcceptedBaseKey("k1"), await home.hasAcceptedBaseKey("k2"), await home.hasAcceptedBaseKey("k3")], [false, true, true]);
    assert.equal((await stat(join(home.dir, "accepted-base-keys.json"))).mode & 0o777, 0o600);
    await home.resetUser();
    assert.equal(await home.hasAcceptedBaseKey("k3"), false);
  });

  it("ignores a torn last line of the shown-id log", async () => {
    await using dir = await tempDir();
    const home = await HomeStore.open(dir.path);
    const id = v7();
    await home.markSeen(id);
    await writeFile(join(dir.path, "seen.log"), `${id}\n0190a8c4-5d6e`, { flag: "a" });
    const fresh = await HomeStore.open(dir.path);
    assert.equal(await fresh.hasSeen(id), true);
    assert.equal(await fresh.hasSeen("0190a8c4-5d6e"), false);
  });

  it("loses no update when two processes read-modify-write the same home", async () => {
    await using dir = await tempDir();
    // Two stores on one directory stand for two processes: only the file lock orders them.
    const a = await HomeStore.open(dir.path);
    const b = await HomeStore.open(dir.path);
    await a.writeContacts({});
    const bump = (home: HomeStore, i: number) =>
      home.withLock(async () => {
        const contacts = await home.readContacts();
        await new Promise((r) => setTimeout(r, Math.random() * 3));
        contacts[`0190a8c4-5d6e-7f00-8a00-${String(i).padStart(12, "0")}`] = { username: `u${i}`, identityKey: "k", firstSeen: i };
        await home.writeContacts(contacts);
      });
    await Promise.all(Array.from({ length: 40 }, (_, i) => bump(i % 2 === 0 ? a : b, i)));
    assert.equal(Object.keys(await a.readContacts()).length, 40);
  });

  it("releases the lock when the work inside fails", async () => {
    await using dir = await tempDir();
    const home = await HomeStore.open(dir.path, { lockWaitMs: 500 });
    await assert.rejects(home.withLock(async () => Promise.reject(new Error("boom"))), /boom/);
    assert.equal(await home.withLock(async () => 42), 42);
  });

  it("forgets the previous account's state when another user takes the home", async () => {
    await using dir = await tempDir();
    const home = await HomeStore.open(dir.path);
    await home.writeAccount(account);
    await home.writePeerSessions(USER, [{}]);
    const id = v7();
    await home.markSeen(id);
    await home.resetUser();
    assert.equal(await home.readAccount(), undefined);
    assert.deepEqual(await home.readPeerSessions(USER), []);
    assert.equal(await home.hasSeen(id), false);
  });

  it("keeps groups' keys and pending files 0600, never outside the home, and forgets them with the account", async () => {
    await using dir = await tempDir();
    const home = await HomeStore.open(join(dir.path, "home"));
    const group = { v: 1 as const, id: USER, name: "team", outbound: { k: 1 }, sentTo: { [USER]: 5 }, rotate: false, inbound: { [USER]: { k: 2 } } };
    await home.writeGroup(group);
    const msgId = v7();
    await home.writePendingFiles({ [msgId]: { id: msgId, from: "bob", fromId: USER, sentAt: 1, file: { id: USER } } });
    assert.deepEqual(await home.readGroup(USER), group);
    assert.deepEqual(Object.keys(await home.readPendingFiles()), [msgId]);
    assert.equal((await stat(join(home.dir, "groups"))).mode & 0o777, 0o700);
    for (const f of [`groups/${USER}.json`, "pending-files.json"]) assert.equal((await stat(join(home.dir, f))).mode & 0o777, 0o600, f);
    await assert.rejects(home.readGroup("../../etc/passwd"), { code: "BAD_FRAME" });
    await home.resetUser();
    assert.equal(await home.readGroup(USER), undefined);
    assert.deepEqual(await home.readPendingFiles(), {});
  });
});
