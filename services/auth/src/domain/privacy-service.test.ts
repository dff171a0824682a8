import { beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { NatterError, type PublicBundle } from "@natter/protocol";
import { FakeClock, MemoryAccounts, MemoryBlocks, MemoryProfiles, RecordingPublisher } from "../../test/fakes.ts";
import { PrivacyService } from "./privacy-service.ts";

const bundle: PublicBundle = {
  v: 1, identityKey: "aWs", identityDhKey: "ZGg", identityDhSignature: "c2ln",
  signedPrekey: { id: 1, publicKey: "c3Br", signature: "c2ln" }, oneTimePrekeys: [],
};
const ALICE = "00000000-0000-4000-8000-00000000000a";
const BOB = "00000000-0000-4000-8000-00000000000b";
const CAROL = "00000000-0000-4000-8000-00000000000c";

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "ok";
  } catch (err) {
    assert.ok(err instanceof NatterError, String(err));
    return err.code;
  }
}

describe("blocking and profiles", () => {
  let privacy: PrivacyService;
  let blocks: MemoryBlocks;
  let events: RecordingPublisher;

  beforeEach(async () => {
    const accounts = new MemoryAccounts();
    for (const [id, username] of [[ALICE, "alice"], [BOB, "bob"], [CAROL, "carol"]] as const) {
      await accounts.create({ id, username, salt: "c2FsdA", passwordHash: "x", bundle, backup: "b".repeat(16), createdAt: 0 });
    }
    blocks = new MemoryBlocks();
    events = new RecordingPublisher();
    privacy = new PrivacyService({ accounts, blocks, events, profiles: new MemoryProfiles(accounts), clock: new FakeClock() });
  });

  it("records a block and announces it once", async () => {
    assert.deepEqual(await privacy.block({ userId: ALICE, username: "bob" }), {});
    assert.deepEqual(await privacy.block({ userId: ALICE, username: "bob" }), {});
    assert.deepEqual(events.events, [{ blocker: ALICE, blocked: BOB, blocking: true }]);
    assert.deepEqual(await privacy.blocks({ userId: ALICE }), { blocking: [BOB], blockedBy: [] });
    assert.deepEqual(await privacy.blocks({ userId: BOB }), { blocking: [], blockedBy: [ALICE] });
  });

  it("announces an unblock only when there was a block", async () => {
    await privacy.unblock({ userId: ALICE, username: "bob" });
    assert.equal(events.events.length, 0);
    await privacy.block({ userId: ALICE, username: "bob" });
    await privacy.unblock({ userId: ALICE, username: "bob" });
    assert.deepEqual(events.events.map((e) => e.blocking), [true, false]);
    assert.deepEqual(await privacy.blocks({ userId: BOB }), { blocking: [], blockedBy: [] });
  });

  it("refuses to block yourself or someone who does not exist", async () => {
    assert.equal(await code(privacy.block({ userId: ALICE, username: "alice" })), "CANNOT_BLOCK_SELF");
    assert.equal(await code(privacy.block({ userId: ALICE, username: "nobody" })), "NO_SUCH_USER");
    assert.equal(await code(privacy.unblock({ userId: ALICE, username: "nobody" })), "NO_SUCH_USER");
    assert.equal(blocks.pairs.size, 0);
    assert.deepEqual(events.events, []);
  });

  it("keeps the caller's encrypted profile and shows it to others", async () => {
    assert.deepEqual(await privacy.profile({ userId: ALICE }), { blob: null });
    assert.deepEqual(await privacy.profileOf({ userId: BOB, username: "alice" }), { userId: ALICE, username: "alice", blob: null });
    assert.deepEqual(await privacy.profile({ userId: ALICE, put: { blob: "Y2lwaGVy" } }), { blob: "Y2lwaGVy" });
    assert.deepEqual(await privacy.profile({ userId: ALICE }), { blob: "Y2lwaGVy" });
    assert.deepEqual(await privacy.profileOf({ userId: BOB, username: "alice" }), { userId: ALICE, username: "alice", blob: "Y2lwaGVy" });
    assert.equal(await code(privacy.profile({ userId: "00000000-0000-4000-8000-000000000999" })), "NO_SUCH_USER");
  });

  it("tells an account's id from one nobody has", async () => {
    assert.deepEqual(await privacy.exists({ userId: ALICE }), { exists: true });
    assert.deepEqual(await privacy.exists({ userId: "00000000-0000-4000-8000-000000000999" }), { exists: false });
  });

  it("hides a profile both ways across a block, exactly as a missing user", async () => {
    await privacy.profile({ userId: ALICE, put: { blob: "YWxpY2U" } });
    await privacy.profile({ userId: BOB, put: { blob: "Ym9i" } });
    await privacy.block({ userId: ALICE, username: "bob" });
    const missing = await privacy.profileOf({ userId: BOB, username: "nobody" }).catch((e: NatterError) => e);
    for (const [userId, username] of [[BOB, "alice"], [ALICE, "bob"]] as const) {
      const hidden = await privacy.profileOf({ userId, username }).catch((e: NatterError) => e);
      assert.ok(hidden instanceof NatterError && missing instanceof NatterError);
      assert.equal(hidden.code, missing.code);
      assert.equal(hidden.message, missing.message);
    }
    assert.equal((await privacy.profileOf({ userId: CAROL, username: "alice" })).blob, "YWxpY2U");
    await privacy.unblock({ userId: ALICE, username: "bob" });
    assert.equal((await privacy.profileOf({ userId: BOB, username: "alice" })).blob, "YWxpY2U");
  });
});
