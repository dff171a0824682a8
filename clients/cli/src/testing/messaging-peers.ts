import { join } from "node:path";
import { after } from "node:test";
import { DeviceIdentity } from "@natter/crypto";
import { v7 } from "uuid";
import { HomeStore, type HomeStoreOptions } from "../home-store.ts";
import type { EdgeApi } from "../messaging/edge-api.ts";
import { Messenger } from "../messaging/messenger.ts";
import type { Notice } from "../messaging/notice.ts";
import { tempDir, testPrimitives } from "./harness.ts";
import { MemoryEdge } from "./memory-edge.ts";

/** A user of the tests: a registered device, a home, and a messenger over the memory edge. */
export interface Peer {
  name: string;
  userId: string;
  home: HomeStore;
  messenger: Messenger;
  notices: Notice[];
}

/**
 * Users who message each other through one MemoryEdge, each with a home in a temporary
 * folder, for tests of the messaging core. Made in a `describe`, it removes its folder
 * after the suite; `peer` and `drain` may be taken off it (`const { peer, drain } = peers`).
 */
export class MessagingPeers {
  readonly edge = new MemoryEdge();
  readonly p = testPrimitives();
  private dir: ReturnType<typeof tempDir> | undefined;

  constructor() {
    after(async () => {
      if (this.dir) await (await this.dir)[Symbol.asyncDispose]();
    });
  }

  /**
   * A user with a registered device and a home of their own (or a second process on
   * `shareHome`'s home). `edge` puts a hostile server between them and the honest one.
   */
  readonly peer = async (
    name: string,
    opts: { prekeys?: number; shareHome?: Peer; home?: HomeStoreOptions; edge?: (honest: EdgeApi) => EdgeApi } = {},
  ): Promise<Peer> => {
    let userId: string;
    let home: HomeStore;
    if (opts.shareHome) {
      userId = opts.shareHome.userId;
      home = await HomeStore.open(opts.shareHome.home.dir, opts.home);
    } else {
      const device = await DeviceIdentity.generate(this.p, { oneTimePrekeys: opts.prekeys ?? 5 });
      userId = this.edge.publish(name, device.publicBundle());
      this.dir ??= tempDir();
      home = await HomeStore.open(join((await this.dir).path, `${name}-${v7()}`), opts.home);
      await home.writeAccount({ v: 1, userId, username: name, device: device.toJSON() });
    }
    const notices: Notice[] = [];
    const honest = this.edge.edgeFor(userId);
    const messenger = new Messenger({ p: this.p, home, edge: opts.edge ? opts.edge(honest) : honest, now: () => Date.now(), newId: v7, notice: (n) => notices.push(n) });
    return { name, userId, home, messenger, notices };
  };

  /**
   * Hands everything waiting for `to` to their messenger and empties the inbox; returns
   * what would be shown: `from: text`, `#group from: text` and `#group: event user`.
   */
  readonly drain = async (to: Peer): Promise<string[]> => {
    const shown: string[] = [];
    for (const msg of this.edge.inbox(to.userId)) {
      const outcome = await to.messenger.receive(msg);
      if (outcome.kind === "message" && outcome.message.content.type === "text") {
        shown.push(`${outcome.message.group === undefined ? "" : `#${outcome.message.group} `}${outcome.message.from}: ${outcome.message.content.text}`);
      }
      if (outcome.kind === "event") shown.push(`#${outcome.event.group}: ${outcome.event.event} ${outcome.event.user}`);
    }
    this.edge.clearInbox(to.userId);
    return shown;
  };
}
