import type pg from "pg";
import { encodeRecord, GroupRole, parse, type GroupSummary } from "@natter/protocol";
import type { Change } from "../../domain/changes.ts";
import type { GroupState, Member } from "../../domain/group-state.ts";
import type { ChainPage, GroupStore, Plan } from "../../domain/ports.ts";

interface GroupRow { id: string; name: string; closed: boolean; created_at: Date }
interface MemberRow { user_id: string; username: string; role: string; joined_at: Date }

/** Groups in Postgres schema `grp`. */
export class PgGroupStore implements GroupStore {
  constructor(private readonly pool: pg.Pool) {}

  async update<T>(name: string, decide: (current: GroupState | undefined, chain: readonly string[]) => Promise<Plan<T>>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      try {
        // One lock per name serialises every update of a group, creation included.
        await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`natter.grp.${name}`]);
        const current = await load(client, name);
        const plan = await decide(current, current ? await entries(client, current.id, -1) : []);
        for (const change of plan.changes) await apply(client, change);
        const append = plan.append;
        if (append && !plan.changes.some((c) => c.op === "deleteGroup")) {
          await client.query("INSERT INTO grp.chain_entries (group_id, seq, hash, entry) VALUES ($1, $2, $3, $4)", [
            append.groupId, append.seq, append.hash, append.entry,
          ]);
        }
        for (const notice of plan.notices) {
          await client.query("INSERT INTO grp.outbox (message_id, recipients, record) VALUES ($1, $2, $3)", [
            notice.message.id,
            notice.recipients,
            Buffer.from(encodeRecord(notice.message)),
          ]);
        }
        await client.query("COMMIT");
        return plan.result;
      } catch (err) {
        await client.query("ROLLBACK");
        throw err;
      }
    } finally {
      client.release();
    }
  }

  async chain(name: string, after: number, maxChars: number): Promise<ChainPage | undefined> {
    const { rows } = await this.pool.query<{ id: string; name: string }>("SELECT id, name FROM grp.groups WHERE name = $1", [name]);
    const group = rows[0];
    if (!group) return undefined;
    const last = await this.pool.query<{ seq: number; hash: string }>("SELECT seq, hash FROM grp.chain_entries WHERE group_id = $1 ORDER BY seq DESC LIMIT 1", [group.id]);
    const head = last.rows[0];
    if (!head) return undefined;
    const all = await entries(this.pool, group.id, after);
    const page: string[] = [];
    let size = 0;
    for (const entry of all) {
      if (page.length > 0 && size + entry.length > maxChars) break;
      page.push(entry);
      size += entry.length;
    }
    return { group: { id: group.id, name: group.name }, head: { seq: head.seq, hash: head.hash }, entries: page, more: page.length < all.length };
  }

  async find(name: string): Promise<GroupState | undefined> {
    return load(this.pool, name);
  }

  async list(): Promise<GroupSummary[]> {
    const { rows } = await this.pool.query<{ id: string; name: string; closed: boolean; members: number }>(
      `SELECT g.id, g.name, g.closed, count(m.user_id)::int AS members
         FROM grp.groups g LEFT JOIN grp.members m ON m.group_id = g.id
        GROUP BY g.id ORDER BY g.name`,
    );
    return rows.map(({ id, name, closed, members }) => ({ id, name, closed, members }));
  }

  async recipients(groupId: string): Promise<{ name: string; memberIds: string[] } | undefined> {
    const { rows } = await this.pool.query<{ name: string; user_id: string | null }>(
      `SELECT g.name, m.user_id FROM grp.groups g LEFT JOIN grp.members m ON m.group_id = g.id WHERE g.id = $1`,
      [groupId],
    );
    const first = rows[0];
    if (!first) return undefined;
    return { name: first.name, memberIds: rows.flatMap((r) => (r.user_id ? [r.user_id] : [])) };
  }
}

async function load(db: pg.Pool | pg.PoolClient, name: string): Promise<GroupState | undefined> {
  const { rows } = await db.query<GroupRow>("SELECT id, name, closed, created_at FROM grp.groups WHERE name = $1", [name]);
  const group = rows[0];
  if (!group) return undefined;
  const members = await db.query<MemberRow>(
    `SELECT m.user_id, u.username, m.role, m.joined_at
       FROM grp.members m JOIN grp.users u ON u.id = m.user_id
      WHERE m.group_id = $1 ORDER BY m.joined_at, m.seq`,
    [group.id],
  );
  return {
    id: group.id,
    name: group.name,
    closed: group.closed,
    createdAt: group.created_at.getTime(),
    members: members.rows.map((r): Member => ({
      userId: r.user_id,
      username: r.username,
      role: parse(GroupRole, r.role, "INTERNAL"),
      joinedAt: r.joined_at.getTime(),
    })),
  };
}

async function entries(db: pg.Pool | pg.PoolClient, groupId: string, after: number): Promise<string[]> {
  const { rows } = await db.query<{ entry: string }>("SELECT entry FROM grp.chain_entries WHERE group_id = $1 AND seq > $2 ORDER BY seq", [groupId, after]);
  return rows.map((r) => r.entry);
}

async function apply(client: pg.PoolClient, change: Change): Promise<void> {
  switch (change.op) {
    case "insertGroup": {
      const { id, name, closed, createdAt } = change.group;
      await client.query("INSERT INTO grp.groups (id, name, closed, created_at) VALUES ($1, $2, $3, $4)", [id, name, closed, new Date(createdAt)]);
      return;
    }
    case "deleteGroup":
      await client.query("DELETE FROM grp.groups WHERE id = $1", [change.groupId]);
      return;
    case "setClosed":
      await client.query("UPDATE grp.groups SET closed = $2 WHERE id = $1", [change.groupId, change.closed]);
      return;
    case "addMember": {
      const { userId, username, role, joinedAt } = change.member;
      // Usernames never change, so a known user needs no write (and takes no row lock).
      await client.query("INSERT INTO grp.users (id, username) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING", [userId, username]);
      await client.query("INSERT INTO grp.members (group_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4)", [
        change.groupId, userId, role, new Date(joinedAt),
      ]);
      return;
    }
    case "removeMember":
      await client.query("DELETE FROM grp.members WHERE group_id = $1 AND user_id = $2", [change.groupId, change.userId]);
      return;
    case "setRole":
      await client.query("UPDATE grp.members SET role = $3 WHERE group_id = $1 AND user_id = $2", [change.groupId, change.userId, change.role]);
      return;
  }
}
