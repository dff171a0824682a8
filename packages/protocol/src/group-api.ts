import { z } from "zod";
import { MAX_MESSAGE_BODY } from "./limits.ts";
import { Name } from "./names.ts";
import { verb } from "./rpc.ts";

const Uuid = z.uuid();
/** Milliseconds since the epoch. */
const Millis = z.number().int().nonnegative();

/** Most usernames one `create` may add at once. */
export const MAX_INITIAL_MEMBERS = 256;

/** Most characters of one signed membership entry (JSON text, see @natter/crypto's group chain). */
export const MAX_CHAIN_ENTRY = 256 * 1024;
/** One signed change of a group's membership, as its signer wrote it (validated by the chain code, not here). */
export const ChainEntryText = z.string().min(2).max(MAX_CHAIN_ENTRY);
/** The last entry of a group's chain: its seq and hash (base64url). */
export const ChainHead = z.object({ seq: z.number().int().nonnegative(), hash: z.string().max(64) });
export type ChainHead = z.infer<typeof ChainHead>;
/** Most characters of entries one `chain` answer carries (the client asks again for the rest). */
export const MAX_CHAIN_PAGE = 512 * 1024;

export const GroupRole = z.enum(["admin", "member"]);
export type GroupRole = z.infer<typeof GroupRole>;

export const GroupMember = z.object({ userId: Uuid, username: Name, role: GroupRole });
export type GroupMember = z.infer<typeof GroupMember>;

/** A group after a change, with everyone the sender keys have to reach. */
export const GroupView = z.object({ id: Uuid, name: Name, closed: z.boolean(), members: z.array(GroupMember) });
export type GroupView = z.infer<typeof GroupView>;

export const GroupSummary = z.object({ id: Uuid, name: Name, members: z.number().int().nonnegative(), closed: z.boolean() });
export type GroupSummary = z.infer<typeof GroupSummary>;

/**
 * The acting user, as the edge authenticated them (never client text). The username
 * travels with the id because auth resolves names to ids, not ids to names.
 */
const Actor = { userId: Uuid, username: Name } as const;
/** The signed entry that makes the change: the service applies nothing else. */
const Entry = { entry: ChainEntryText } as const;

/**
 * The group service's verbs (`<ns>.svc.group.<verb>`). Only edges call them. Mutating
 * verbs answer with the group as it now is, so the client can (re)distribute sender keys.
 */
export const GroupApi = {
  /** The creator becomes admin; `members` are added too (all must exist, else nothing is created). */
  create: verb(z.object({ ...Actor, ...Entry, name: Name, members: z.array(Name).max(MAX_INITIAL_MEMBERS).optional() }), GroupView),
  /** Joins an open group (`entry` a join), or creates it (`entry` a genesis, the joiner then admin) when there is none. */
  join: verb(z.object({ ...Actor, ...Entry, name: Name }), GroupView),
  /** Every group with its member count. */
  list: verb(z.object({}), z.object({ groups: z.array(GroupSummary) })),
  /** The members of a group the caller belongs to. */
  members: verb(
    z.object({ ...Actor, name: Name }),
    z.object({
      group: z.object({ id: Uuid, name: Name, closed: z.boolean() }),
      members: z.array(GroupMember.extend({ joinedAt: Millis })),
    }),
  ),
  add: verb(z.object({ ...Actor, ...Entry, name: Name, user: Name }), GroupView),
  remove: verb(z.object({ ...Actor, ...Entry, name: Name, user: Name }), GroupView),
  /** When the last admin leaves, the longest-standing member becomes admin; an empty group is deleted. */
  leave: verb(z.object({ ...Actor, ...Entry, name: Name }), GroupView),
  /** Makes another member an admin. */
  admin: verb(z.object({ ...Actor, ...Entry, name: Name, user: Name }), GroupView),
  /** After this, nobody joins without being added by an admin. */
  close: verb(z.object({ ...Actor, ...Entry, name: Name }), GroupView),
  /**
   * The group's signed entries after seq `after` (-1: from the genesis), oldest first, to
   * its members, and to anyone when it is open (a joiner builds on its head; a closed
   * group answers others GROUP_CLOSED); `more` when the page is full.
   */
  chain: verb(
    z.object({ ...Actor, name: Name, after: z.number().int().min(-1) }),
    z.object({ group: z.object({ id: Uuid, name: Name }), head: ChainHead, entries: z.array(ChainEntryText), more: z.boolean() }),
  ),
} as const;

export type GroupApi = typeof GroupApi;
export type GroupVerb = keyof GroupApi;

/**
 * A group message on its way to the members, as the edge stores it on
 * `<ns>.group.<groupId>` (MessagePack, `Nats-Msg-Id` = `id`). Every field but `body` is
 * stamped by the edge; `body` is ciphertext under the sender's sender key.
 */
export const GroupEnvelope = z.object({
  v: z.literal(1),
  id: Uuid,
  from: Uuid,
  fromName: Name,
  groupId: Uuid,
  body: z.custom<Uint8Array>((b) => b instanceof Uint8Array, "expected bytes").refine((b) => b.byteLength <= MAX_MESSAGE_BODY, "body too large"),
  sentAt: Millis,
});
export type GroupEnvelope = z.infer<typeof GroupEnvelope>;

/** The group service announces every change of a group, so every replica drops its cached members. */
export const GroupChanged = z.object({ groupId: Uuid });
export type GroupChanged = z.infer<typeof GroupChanged>;
