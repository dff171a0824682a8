import type { NatsConnection } from "@nats-io/transport-node";
import { ExpiringCache, followAnnouncements, type Announcements, type Logger } from "@natter/kit";
import { GroupChanged, type GroupSummary, type Names } from "@natter/protocol";
import type { Change } from "../../domain/changes.ts";
import type { GroupState } from "../../domain/group-state.ts";
import type { ChainPage, GroupStore, Plan } from "../../domain/ports.ts";

/** How long cached members are trusted without a word from the other replicas. */
const TTL_MS = 60_000;
const MAX_GROUPS = 10_000;

type Recipients = { name: string; memberIds: readonly string[] };

/**
 * A group store whose fan-out reads of a group's members are remembered, so a busy group
 * costs Postgres nothing per message. Every change made through any replica is announced
 * on `<ns>.evt.groups` and drops the group from every replica's cache; an announcement
 * missed while cut off from NATS is covered by forgetting everything on reconnect, and a
 * minute's TTL at worst.
 */
export class CachedGroupStore implements GroupStore {
  private readonly members = new ExpiringCache<Recipients | undefined>(TTL_MS, MAX_GROUPS);
  private readonly announcements: Announcements;

  constructor(
    private readonly store: GroupStore,
    private readonly nc: NatsConnection,
    private readonly n: Names,
    private readonly logger: Logger,
  ) {
    this.announcements = followAnnouncements(nc, n.groupEvents, GroupChanged, {
      onEvent: ({ groupId }) => this.members.forget(groupId),
      onReconnect: () => this.members.forgetAll(),
    }, logger);
  }

  async update<T>(name: string, decide: (current: GroupState | undefined, chain: readonly string[]) => Promise<Plan<T>>): Promise<T> {
    let changed: string[] = [];
    const result = await this.store.update(name, async (current, chain) => {
      const plan = await decide(current, chain);
      changed = [...new Set(plan.changes.map(groupIdOf))];
      return plan;
    });
    for (const groupId of changed) {
      this.members.forget(groupId);
      try {
        this.nc.publish(this.n.groupEvents, JSON.stringify({ groupId } satisfies GroupChanged));
      } catch (err) {
        this.logger.warn({ err }, "could not announce a group change");
      }
    }
    return result;
  }

  chain(name: string, after: number, maxChars: number): Promise<ChainPage | undefined> {
    return this.store.chain(name, after, maxChars);
  }

  find(name: string): Promise<GroupState | undefined> {
    return this.store.find(name);
  }

  list(): Promise<GroupSummary[]> {
    return this.store.list();
  }

  recipients(groupId: string): Promise<Recipients | undefined> {
    return this.members.get(groupId, () => this.store.recipients(groupId));
  }

  close(): void {
    this.announcements.close();
  }
}

function groupIdOf(change: Change): string {
  return change.op === "insertGroup" ? change.group.id : change.groupId;
}
