import type { NatsConnection } from "@nats-io/transport-node";
import { SessionEnded, type AuthApi, type Names } from "@natter/protocol";
import { ExpiringCache, followAnnouncements, type Announcements, type Logger, type ServiceCall } from "@natter/kit";
import type { SessionCheck } from "../../domain/ports.ts";

/** How long auth's word on a session is trusted without asking again. */
const TTL_MS = 60_000;
const MAX_ENTRIES = 100_000;

/**
 * Whether a session is still active (not logged out, not taken over), asked of auth once
 * and then remembered for a minute, so a device that reconnects costs auth and Postgres
 * nothing. Auth announces every session it ends; the entry goes at once. While the edge
 * is cut off from NATS it may miss an announcement, so everything is forgotten when it
 * reconnects. (A session that ended never comes back, so "no" is remembered too.)
 */
export class ActiveSessions implements SessionCheck {
  private readonly answers = new ExpiringCache<boolean>(TTL_MS, MAX_ENTRIES);
  private readonly announcements: Announcements;
  private readonly endListeners: Array<(sid: string) => void> = [];

  constructor(
    nc: NatsConnection,
    n: Names,
    private readonly auth: ServiceCall<typeof AuthApi>,
    logger: Logger,
  ) {
    this.announcements = followAnnouncements(nc, n.sessionEvents, SessionEnded, {
      onEvent: ({ sid }) => {
        this.answers.forget(sid);
        for (const listener of this.endListeners) listener(sid);
      },
      onReconnect: () => this.answers.forgetAll(),
    }, logger);
  }

  isActive(sid: string): Promise<boolean> {
    return this.answers.get(sid, async () => (await this.auth("session", { sid })).active);
  }

  /** Runs `listener` for every session auth announces it ended (logout, takeover, revoke, a reused refresh token). */
  onEnded(listener: (sid: string) => void): void {
    this.endListeners.push(listener);
  }

  close(): void {
    this.announcements.close();
  }
}
