import type { Clock } from "@natter/kit";
import type { EdgeHeartbeat, PresenceApi, PresenceFeed, VerbRequest, VerbResult } from "@natter/protocol";
import type { BlockList } from "./block-list.ts";
import type { LastSeenStore } from "./last-seen-store.ts";
import { OnlineView, type SeenUser } from "./online-view.ts";
import type { SyncRequester } from "./sync-requester.ts";

export interface PresenceDeps {
  lastSeen: LastSeenStore;
  blocks: BlockList;
  sync: SyncRequester;
  clock: Clock;
  /** Told when edges are given up for dead, with how many users went offline with them. */
  onEdgesLost?: (edges: string[], offline: number) => void;
}

export interface PresenceSettings {
  /** An edge unheard of for this long is dead and its users offline. */
  edgeTimeoutMs: number;
}

const HOUR_MS = 60 * 60 * 1000;

/**
 * Presence as one replica sees it. Edge events update the in-memory view at once (the
 * returned promise is only the last-seen write); `who` and `edges` read the view, after
 * giving up edges that went quiet, so no answer lists a dead edge or its users.
 */
export class PresenceService {
  private readonly view: OnlineView;

  constructor(
    private readonly deps: PresenceDeps,
    settings: PresenceSettings,
  ) {
    this.view = new OnlineView(settings.edgeTimeoutMs);
  }

  /** Asks every edge who is connected (at start, and after a lost NATS connection). */
  resync(): void {
    this.deps.sync.requestSync();
  }

  /** A message from `<ns>.evt.presence`. */
  async receive(msg: PresenceFeed): Promise<void> {
    const now = this.deps.clock.now();
    // An edge's clock may run ahead; nobody is seen in the future.
    const at = Math.min(msg.at, now);
    switch (msg.t) {
      case "connect":
        this.view.connect(msg.edge, msg, now);
        return this.deps.lastSeen.record([{ userId: msg.userId, username: msg.username, seenAt: at }]);
      case "disconnect":
        this.view.disconnect(msg.edge, msg, now, at);
        // Recorded even while another connection stays open: harmless, and the time is right.
        return this.deps.lastSeen.record([{ userId: msg.userId, username: msg.username, seenAt: at }]);
      case "online":
        return this.record(this.view.online(msg.edge, msg, now));
    }
  }

  /** A message from `<ns>.evt.edge`. */
  async heartbeat(beat: EdgeHeartbeat): Promise<void> {
    const { resync, offline } = this.view.heartbeat(beat, this.deps.clock.now());
    if (resync) this.deps.sync.requestSync(beat.edge);
    return this.record(offline);
  }

  /** Gives up edges gone quiet; answers their names. Run it often (a fraction of the timeout). */
  async expire(): Promise<string[]> {
    const { edges, offline } = this.view.expire(this.deps.clock.now());
    if (edges.length > 0) this.deps.onEdgesLost?.(edges, offline.length);
    await this.record(offline);
    return edges;
  }

  async who(req: VerbRequest<PresenceApi, "who">): Promise<VerbResult<PresenceApi, "who">> {
    const hidden = await this.deps.blocks.hiddenFrom(req.userId);
    const now = this.deps.clock.now();
    await this.expire();
    const users = new Map<string, VerbResult<PresenceApi, "who">["users"][number]>();
    for (const user of this.view.onlineUsers()) users.set(user.userId, { ...user, online: true, lastSeen: null });
    if (req.lastHour) {
      const since = now - HOUR_MS;
      // Ours first: a disconnect this replica just saw may not be in Postgres yet.
      const seen = [...this.view.seenSince(since), ...(await this.deps.lastSeen.seenSince(since))];
      for (const user of seen) {
        const known = users.get(user.userId);
        if (known?.online || (known && (known.lastSeen ?? 0) >= user.seenAt)) continue;
        users.set(user.userId, { userId: user.userId, username: user.username, online: false, lastSeen: user.seenAt });
      }
    }
    const visible = [...users.values()].filter((u) => u.userId !== req.userId && !hidden.has(u.userId));
    return { users: visible.sort((a, b) => a.username.localeCompare(b.username)) };
  }

  async edges(): Promise<VerbResult<PresenceApi, "edges">> {
    await this.expire();
    return { edges: this.view.liveEdges() };
  }

  private async record(offline: SeenUser[]): Promise<void> {
    if (offline.length > 0) await this.deps.lastSeen.record(offline);
  }
}
