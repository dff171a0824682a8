// In-memory implementations of the domain's interfaces, for unit tests.
import type { Clock } from "@natter/kit";
import type { BlockList } from "../src/domain/block-list.ts";
import type { LastSeenStore } from "../src/domain/last-seen-store.ts";
import type { SeenUser } from "../src/domain/online-view.ts";
import type { SyncRequester } from "../src/domain/sync-requester.ts";

export class FakeClock implements Clock {
  constructor(public ms = Date.UTC(2030, 0, 1)) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

export class MemoryLastSeen implements LastSeenStore {
  readonly rows = new Map<string, SeenUser>();
  async record(seen: readonly SeenUser[]): Promise<void> {
    for (const s of seen) {
      const old = this.rows.get(s.userId);
      this.rows.set(s.userId, { ...s, seenAt: Math.max(old?.seenAt ?? 0, s.seenAt) });
    }
  }
  async seenSince(since: number): Promise<SeenUser[]> {
    return [...this.rows.values()].filter((s) => s.seenAt >= since);
  }
}

/** Blocks as `blocker blocked` pairs. */
export class FakeBlocks implements BlockList {
  readonly pairs = new Set<string>();
  block(blocker: string, blocked: string): void {
    this.pairs.add(`${blocker} ${blocked}`);
  }
  async hiddenFrom(userId: string): Promise<ReadonlySet<string>> {
    const hidden = new Set<string>();
    for (const pair of this.pairs) {
      const [blocker, blocked] = pair.split(" ") as [string, string];
      if (blocker === userId) hidden.add(blocked);
      if (blocked === userId) hidden.add(blocker);
    }
    return hidden;
  }
}

export class RecordingSync implements SyncRequester {
  readonly requests: Array<string | undefined> = [];
  requestSync(edge?: string): void {
    this.requests.push(edge);
  }
}
