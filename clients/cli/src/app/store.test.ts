import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { v7 } from "uuid";
import { History } from "../history.ts";
import { tempDir } from "../testing/harness.ts";
import { AppStore } from "./store.ts";

const ALICE = "0190f5a2-0000-7000-8000-00000000a11c";
const BOB = "0190f5a2-0000-7000-8000-000000000b0b";

describe("the app's store", () => {
  const dir = tempDir("natter-app-store-");
  after(async () => (await dir)[Symbol.asyncDispose]());

  it("starts with every conversation kept, groups too, then the contacts not talked to yet", async () => {
    let clock = Date.UTC(2026, 10, 1, 9, 0);
    const history = await History.open(join((await dir).path, "history.sqlite"), ALICE, () => clock);
    history.record({ id: v7(), conversation: "bob", direction: "in", from: "bob", type: "text", text: "hi alice", sentAt: clock }, BOB);
    clock += 1000;
    history.record({ id: v7(), conversation: "#team", direction: "out", from: "alice", type: "text", text: "hello team", sentAt: clock });
    clock += 1000;
    history.record({ id: v7(), conversation: "#ops", direction: "in", from: "cat", type: "file", text: "log.txt", file: { size: 1, mime: "text/plain", path: "log.txt" }, sentAt: clock });

    const store = new AppStore();
    store.start(history.conversations(), ["zed", "bob", "amy"]);
    history.close();
    const s = store.get();
    assert.deepEqual(
      s.conversations.map((c) => [c.id, c.unread, c.last?.from, c.last?.text]),
      [
        ["#ops", 0, "cat", "a file: log.txt"],
        ["#team", 0, "me", "hello team"],
        ["bob", 0, "bob", "hi alice"],
        ["amy", 0, undefined, undefined],
        ["zed", 0, undefined, undefined],
      ],
    );
    assert.equal(s.selected, 0);
  });
});
