import type pg from "pg";
import { encodeRecord, GroupRole, parse, type GroupSummary } from "@natter/protocol";
import type { Change } from "../../domain/changes.ts";
import type { GroupState, Member } from "../../domain/group-state.ts";
import type { GroupStore, Plan } from "../../domain/ports.ts";

interface GroupRow { id: string; name: string; closed: boolean; created_at: Date }
interface MemberRow { user_id: string; username: string; role: string; joined_at: Date }

/** Groups in Postgres schema `grp`. */
export class PgGroupStore implements GroupStore {
  constructor(private readonly pool: pg.Pool) {}

  async update<T>(name: string, decide: (current: GroupState | undefined) => Plan<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      try {
        // One lock per name serialises every update of a group, creation included.
        await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`natter.grp.${name}`]);
        const plan = decide(await load(client, name));
        for (const change of plan.changes) await apply(client, change);
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
