import { assert } from "@natter/protocol";

export interface PresentUser {
  userId: string;
  username: string;
}

/** A user who went offline, and when they were last seen. */
export interface SeenUser extends PresentUser {
  seenAt: number;
}

export interface LiveEdge {
  edge: string;
  address: string;
  connections: number;
  draining: boolean;
}

export interface EdgeLoad {
  edge: string;
  instance?: string | undefined;
  address: string;
  connections: number;
  draining: boolean;
}

interface EdgeState {
  /** Our clock when anything last came from the edge. */
  heardAt: number;
  /** Unset until the edge's first heartbeat (its connects may come first). */
  load: EdgeLoad | undefined;
  /** Connections per user on this edge. */
  users: Map<string, { username: string; connections: number }>;
  /** Batches of a sync answer not yet complete, keyed by the answer's `at`. */
  pending: { at: number; users: Map<string, { username: string; connections: number }> } | undefined;
}

const HOUR_MS = 60 * 60 * 1000;

/**
 * One replica's picture of who is connected where, built only from the edges' events:
 * users per edge with their connection counts, each edge's load, and the users who went
 * offline within the last hour. An edge not heard from for `timeoutMs` is dead and all
 * its users go offline together. Every method that changes the picture reports who went
 * offline, so the caller can record when they were last seen.
 */
export class OnlineView {
  private readonly edges = new Map<string, EdgeState>();
  private readonly recent = new Map<string, SeenUser>();

  constructor(private readonly timeoutMs: number) {
    assert(timeoutMs > 0, "edge timeout must be positive");
  }

  /**
   * Records an edge's load. Answers whether presence should ask the edge who is
   * connected: it was unknown (new, or back after being given up for dead), or it restarted.
   */
  heartbeat(load: EdgeLoad, now: number): { resync: boolean; offline: SeenUser[] } {
    const state = this.edges.get(load.edge);
    if (!state) {
      this.edges.set(load.edge, { heardAt: now, load, users: new Map(), pending: undefined });
      return { resync: true, offline: [] };
    }
    const restarted = state.load?.instance !== undefined && load.instance !== undefined && state.load.instance !== load.instance;
    state.heardAt = now;
    state.load = load;
    if (!restarted) return { resync: false, offline: [] };
    // Whoever was on the previous run is gone; the new run's users come with its answer.
    const offline = this.dropUsers(state, [...state.users.keys()], now);
    return { resync: true, offline };
  }

  connect(edge: string, user: PresentUser, now: number): void {
    const state = this.touch(edge, now);
    const entry = state.users.get(user.userId);
    state.users.set(user.userId, { username: user.username, connections: (entry?.connections ?? 0) + 1 });
    this.recent.delete(user.userId);
  }

  /** Reports the user offline when this was their last connection anywhere. */
  disconnect(edge: string, user: PresentUser, now: number, seenAt: number): SeenUser[] {
    const state = this.touch(edge, now);
    const entry = state.users.get(user.userId);
    if (entry && entry.connections > 1) {
      entry.connections -= 1;
      return [];
    }
    state.users.delete(user.userId);
    if (this.isOnline(user.userId)) return [];
    const seen = { userId: user.userId, username: user.username, seenAt };
    this.recent.set(user.userId, seen);
    return [seen];
  }

  /**
   * One batch of an edge's answer to a sync. The last batch replaces everything known of
   * the edge's users; users it no longer lists go offline.
   */
  online(
    edge: string,
    batch: { users: ReadonlyArray<PresentUser & { connections: number }>; at: number; last: boolean },
    now: number,
  ): SeenUser[] {
    const state = this.touch(edge, now);
    // Batches of an answer share `at`; a new `at` means the earlier answer lost a batch.
    if (state.pending?.at !== batch.at) state.pending = { at: batch.at, users: new Map() };
    for (const u of batch.users) state.pending.users.set(u.userId, { username: u.username, connections: u.connections });
    if (!batch.last) return [];
    const answer = state.pending.users;
    state.pending = undefined;
    const gone = [...state.users.keys()].filter((userId) => !answer.has(userId));
    const offline = this.dropUsers(state, gone, Math.min(batch.at, now));
    state.users = answer;
    for (const userId of answer.keys()) this.recent.delete(userId);
    return offline;
  }

  /** Gives up edges not heard from for the timeout; their users were last seen when the edge was. */
  expire(now: number): { edges: string[]; offline: SeenUser[] } {
    const dead = [...this.edges.entries()].filter(([, state]) => now - state.heardAt >= this.timeoutMs);
    const offline: SeenUser[] = [];
    for (const [edge, state] of dead) {
      this.edges.delete(edge);
      offline.push(...this.dropUsers(state, [...state.users.keys()], state.heardAt));
    }
    for (const [userId, seen] of this.recent) if (now - seen.seenAt > HOUR_MS) this.recent.delete(userId);
    return { edges: dead.map(([edge]) => edge), offline };
  }

  isOnline(userId: string): boolean {
    for (const state of this.edges.values()) if (state.users.has(userId)) return true;
    return false;
  }

  /** Everyone connected to a live edge, once each. */
  onlineUsers(): PresentUser[] {
    const users = new Map<string, PresentUser>();
    for (const state of this.edges.values()) {
      for (const [userId, { username }] of state.users) users.set(userId, { userId, username });
    }
    return [...users.values()];
  }

  /** Users who went offline while this replica watched, seen at or after `since`. */
  seenSince(since: number): SeenUser[] {
    return [...this.recent.values()].filter((seen) => seen.seenAt >= since);
  }

  /** Edges that have sent a heartbeat and are not dead: least loaded first, draining last. */
  liveEdges(): LiveEdge[] {
    const edges: LiveEdge[] = [];
    for (const { load } of this.edges.values()) {
      if (load) edges.push({ edge: load.edge, address: load.address, connections: load.connections, draining: load.draining });
    }
    return edges.sort((a, b) => Number(a.draining) - Number(b.draining) || a.connections - b.connections || a.edge.localeCompare(b.edge));
  }

  private touch(edge: string, now: number): EdgeState {
    let state = this.edges.get(edge);
    if (!state) {
      state = { heardAt: now, load: undefined, users: new Map(), pending: undefined };
      this.edges.set(edge, state);
    }
    state.heardAt = now;
    return state;
  }

  /** Removes users from one edge; those not connected anywhere else went offline at `seenAt`. */
  private dropUsers(state: EdgeState, userIds: string[], seenAt: number): SeenUser[] {
    const offline: SeenUser[] = [];
    for (const userId of userIds) {
      const entry = state.users.get(userId);
      state.users.delete(userId);
      if (!entry || this.isOnline(userId)) continue;
      const seen = { userId, username: entry.username, seenAt };
      this.recent.set(userId, seen);
      offline.push(seen);
    }
    return offline;
  }
}
