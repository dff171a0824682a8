import type { NatsConnection } from "@nats-io/transport-node";
import { BlockEvent, type Names } from "@natter/protocol";
import { followAnnouncements, type Announcements, type Logger } from "@natter/kit";
import type { AuthCall } from "../../connection.ts";
import type { BlockList } from "../../domain/ports.ts";

/** A cached list is trusted this long even if an event was missed. */
const TTL_MS = 60_000;
const MAX_ENTRIES = 100_000;

/**
 * Block lists of message recipients, asked of auth once and kept until auth announces a
 * change (or a minute passes, or the edge reconnects to NATS and may have missed one), so
 * checking a send costs no round trip in the usual case.
 */
export class BlockCache implements BlockList {
  private readonly lists = new Map<string, { blocking: Promise<Set<string>>; at: number }>();
  private readonly announcements: Announcements;

  constructor(
    nc: NatsConnection,
    n: Names,
    private readonly auth: AuthCall,
    logger: Logger,
  ) {
    this.announcements = followAnnouncements(nc, n.blockEvents, BlockEvent, {
      onEvent: (event) => this.lists.delete(event.blocker),
      onReconnect: () => this.lists.clear(),
    }, logger);
  }

  async blocks(recipient: string, sender: string): Promise<boolean> {
    let entry = this.lists.get(recipient);
    if (!entry || Date.now() - entry.at > TTL_MS) {
      if (this.lists.size >= MAX_ENTRIES) this.lists.clear();
      const blocking = this.auth("blocks", { userId: recipient }).then(({ blocking }) => new Set(blocking));
      entry = { blocking, at: Date.now() };
      this.lists.set(recipient, entry);
      blocking.catch(() => this.lists.delete(recipient));
    }
    return (await entry.blocking).has(sender);
  }

  close(): void {
    this.announcements.close();
  }
}
