import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EdgeApi } from "./edge-api.ts";
import { MessagingPeers } from "../testing/messaging-peers.ts";

type Chain = Awaited<ReturnType<EdgeApi["chain"]>>;

describe("group chains", () => {
  const peers = new MessagingPeers();
  const warnings = (notices: { kind: string; text?: string }[]) => notices.flatMap((n) => (n.kind === "group-warning" ? [n.text] : []));

  it("follows a chain served a page at a time, and keeps it for the next time", async () => {
    const calls: number[] = [];
    const paged = (honest: EdgeApi): EdgeApi => ({
      ...honest,
      chain: async (name, after) => {
        calls.push(after);
        const page = await honest.chain(name, after);
        return { ...page, entries: page.entries.slice(0, 1), more: page.entries.length > 1 };
      },
    });
    const alice = await peers.peer("alice-pg");
    await peers.peer("bob-pg");
    await peers.peer("cat-pg");
    await alice.messenger.changeGroup("create", "paged", { members: ["bob-pg"] });
    await alice.messenger.changeGroup("add", "paged", { user: "cat-pg" });
    await alice.messenger.changeGroup("admin", "paged", { user: "bob-pg" });
    const dan = await peers.peer("dan-pg3", { edge: paged });
    await alice.messenger.changeGroup("add", "paged", { user: "dan-pg3" });
    const verified = await dan.messenger.groupMembers("paged");
    assert.deepEqual(verified.state.members.map((m) => [m.username, m.admin]), [["alice-pg", true], ["bob-pg", true], ["cat-pg", false], ["dan-pg3", false]]);
    assert.deepEqual(calls.filter((c) => c !== 2 ** 31 - 1), [-1, 0, 1, 2]);
    calls.length = 0;
    await dan.messenger.groupMembers("paged");
    assert.deepEqual(calls, [2 ** 31 - 1], "nothing new: only the head is asked for");
    assert.deepEqual(warnings(dan.notices), []);
  });

  it("shows an arrival its chain signed, even when it is read after a later change undid it", async () => {
    const alice = await peers.peer("alice-late");
    const bob = await peers.peer("bob-late");
    await peers.peer("cat-late");
    await alice.messenger.changeGroup("create", "late", { members: ["bob-late"] });
    await alice.messenger.changeGroup("add", "late", { user: "cat-late" });
    await alice.messenger.changeGroup("remove", "late", { user: "cat-late" });
    assert.deepEqual(await peers.drain(bob), ["#late: created alice-late", "#late: added cat-late", "#late: removed cat-late"]);
    assert.deepEqual(warnings(bob.notices), []);
  });

  it("names a head the server claims but sends no changes for", async () => {
    const lies = { on: false };
    const withholding = (honest: EdgeApi): EdgeApi => ({
      ...honest,
      chain: async (name, after): Promise<Chain> => {
        const page = await honest.chain(name, after);
        return lies.on ? { ...page, head: { ...page.head, seq: page.head.seq + 5 }, entries: [] } : page;
      },
    });
    const alice = await peers.peer("alice-wh", { edge: withholding });
    await alice.messenger.changeGroup("create", "withheld");
    lies.on = true;
    await alice.messenger.groupMembers("withheld");
    assert.deepEqual(warnings(alice.notices), ["the server shows #withheld at change 5 but sends the changes only up to 0: it may be withholding them"]);
  });
});
