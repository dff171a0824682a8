import type { NatsConnection } from "@nats-io/transport-node";
import { BlockEvent, type AuthApi, type Names } from "@natter/protocol";
import { ExpiringCache, followAnnouncements, type Announcements, type Logger, type ServiceCall } from "@natter/kit";
import type { BlockList } from "../../domain/ports.ts";

/** A cached list is trusted this long even if an event was missed. */
const TTL_MS = 60_000;
const MAX_ENTRIES = 100_000;

/**
 * Block lists of message recipients, asked of auth once and kept until auth announces a
 * change (or a minute passes, or the edge reconnects to NATS and may have missed one), so
 * checking a send costs no round trip in the usual case. Sends to one recipient that
 * arrive while its list is being fetched wait for that one fetch.
 */
export class BlockCache implements BlockList {
  private readonly lists = new ExpiringCache<ReadonlySet<string>>(TTL_MS, MAX_ENTRIES);
  private readonly announcements: Announcements;

  constructor(
    nc: NatsConnection,
    n: Names,
    private readonly auth: ServiceCall<typeof AuthApi>,
    logger: Logger,
  ) {
    this.announcements = followAnnouncements(nc, n.blockEvents, BlockEvent, {
      onEvent: (event) => this.lists.forget(event.blocker),
      onReconnect: () => this.lists.forgetAll(),
    }, logger);
  }

  async blocks(recipient: string, sender: string): Promise<boolean> {
    const blocking = await this.lists.get(recipient, async () => new Set((await this.auth("blocks", { userId: recipient })).blocking));
    return blocking.has(sender);
  }

  close(): void {
    this.announcements.close();
  }
}
