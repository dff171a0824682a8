import type { NatsConnection } from "@nats-io/transport-node";
import { SessionEnded, type Names } from "@natter/protocol";
import { followAnnouncements, type Announcements, type Logger } from "@natter/kit";
import type { AuthCall } from "../../connection.ts";
import type { SessionCheck } from "../../domain/ports.ts";

/** How long auth's word that a session is active is trusted without asking again. */
const TTL_MS = 60_000;
const MAX_ENTRIES = 100_000;

/**
 * Whether a session is still active (not logged out, not taken over), asked of auth once
 * and then remembered for a minute, so a device that reconnects costs auth and Postgres
 * nothing. Auth announces every session it ends; the entry goes at once. While the edge
 * is cut off from NATS it may miss an announcement, so everything is forgotten when it
 * reconnects.
 */
export class ActiveSessions implements SessionCheck {
  private readonly until = new Map<string, number>();
  private readonly announcements: Announcements;
  /** Moves on with every ended session: an answer asked for before one ended is not kept. */
  private epoch = 0;

  constructor(
    nc: NatsConnection,
    n: Names,
    private readonly auth: AuthCall,
    logger: Logger,
  ) {
    this.announcements = followAnnouncements(nc, n.sessionEvents, SessionEnded, {
      onEvent: ({ sid }) => {
        this.until.delete(sid);
        this.epoch += 1;
      },
      onReconnect: () => {
        this.until.clear();
        this.epoch += 1;
      },
    }, logger);
  }

  async isActive(sid: string): Promise<boolean> {
    const until = this.until.get(sid);
    if (until !== undefined && until > Date.now()) return true;
    const epoch = this.epoch;
    const { active } = await this.auth("session", { sid });
    if (!active) {
      this.until.delete(sid);
    } else if (epoch === this.epoch) {
      if (this.until.size >= MAX_ENTRIES) this.until.delete(this.until.keys().next().value!);
      this.until.set(sid, Date.now() + TTL_MS);
    }
    return active;
  }

  close(): void {
    this.announcements.close();
  }
}
