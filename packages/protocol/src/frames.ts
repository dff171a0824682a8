import { z } from "zod";
import { ERRORS } from "./errors.ts";
import { Name } from "./names.ts";
import { ChainEntryText, ChainHead, GroupMember, GroupSummary, GroupView } from "./group-api.ts";
import { WhoEntry } from "./presence-api.ts";
import { ProfileBlob } from "./profile.ts";
import { SessionSummary } from "./session-summary.ts";
export { MAX_MESSAGE_BODY } from "./limits.ts";

/**
 * Protocol version spoken in `hello`/`welcome` (2: the login secret replaced the password;
 * 3: bundles carry ML-KEM-768 prekeys and new sessions start with PQXDH, whose sealed
 * messages say so in their first byte).
 */
export const PROTOCOL_VERSION = 3;

const RequestId = z.number().int().nonnegative().max(2 ** 32);
const Bytes = z.custom<Uint8Array>((value) => value instanceof Uint8Array, "expected bytes");
const Base64url = z.string().max(4096).regex(/^[A-Za-z0-9_-]*$/);
const Uuid = z.uuid();
/** The key the client derives from the password for logging in (32 bytes, base64url); never the password. */
export const LoginSecret = z.string().regex(/^[A-Za-z0-9_-]{43}$/, "expected a 32-byte login secret");
/** A per-account salt the client stretches the password under (16 bytes, base64url). */
export const PasswordSalt = z.string().regex(/^[A-Za-z0-9_-]{22}$/, "expected a 16-byte salt");
const Token = z.string().max(4096);

export const SignedPrekey = z.object({ id: z.number().int().nonnegative().max(2 ** 31), publicKey: Base64url, signature: Base64url });
export type SignedPrekey = z.infer<typeof SignedPrekey>;
/** At most this many one-time prekeys of a kind in one upload (an ML-KEM-768 key is 1 184 bytes). */
const MAX_PREKEY_UPLOAD = 1000;
const KemPrekeys = z.array(SignedPrekey).max(MAX_PREKEY_UPLOAD);

/** A device's public keys as the server stores them (private keys never leave the client). */
export const PublicBundle = z.object({
  v: z.literal(1),
  identityKey: Base64url,
  identityDhKey: Base64url,
  identityDhSignature: Base64url,
  signedPrekey: SignedPrekey,
  oneTimePrekeys: z.array(SignedPrekey).max(MAX_PREKEY_UPLOAD),
  /** ML-KEM-768 prekeys for PQXDH, each signed by the identity key: the last-resort one and one-time ones. */
  kemLastResortPrekey: SignedPrekey.optional(),
  kemOneTimePrekeys: KemPrekeys.optional(),
});
export type PublicBundle = z.infer<typeof PublicBundle>;

/**
 * What a prekey claim returns: the bundle with at most one one-time prekey and at most one
 * one-time KEM prekey (the last-resort KEM prekey stands in when none is left).
 */
export const PrekeyBundle = PublicBundle.omit({ oneTimePrekeys: true, kemOneTimePrekeys: true }).extend({
  oneTimePrekey: SignedPrekey.optional(),
  kemOneTimePrekey: SignedPrekey.optional(),
});
export type PrekeyBundle = z.infer<typeof PrekeyBundle>;

/** An opaque encrypted key backup (base64url, made by the client). */
export const Backup = z.string().min(16).max(256 * 1024).regex(/^[A-Za-z0-9_.-]*$/);

// ---- client → edge ----------------------------------------------------------------

export const ClientFrame = z.discriminatedUnion("t", [
  /** `redirected`: this client was sent here by another edge, so it is not sent on again. */
  /**
   * `redirected`: an edge sent the client here, so it stays. `back`: the client lost its
   * connection and is coming back with its session, so it stays where it landed (unless
   * the edge drains).
   */
  z.object({ t: z.literal("hello"), v: z.number().int(), client: z.string().max(64).optional(), redirected: z.boolean().optional(), back: z.boolean().optional() }),
  /** Before register or login: the salt to stretch the password under (made up for a name nobody has). */
  z.object({ t: z.literal("salt"), id: RequestId, username: z.string().max(64) }),
  z.object({ t: z.literal("register"), id: RequestId, username: z.string().max(64), salt: PasswordSalt, secret: LoginSecret, bundle: PublicBundle, backup: Backup }),
  z.object({ t: z.literal("login"), id: RequestId, username: z.string().max(64), secret: LoginSecret, takeover: z.boolean().optional() }),
  /** Changes the password: proves the current one, sets the new salt, secret and backup; every other session ends. */
  z.object({ t: z.literal("passwd"), id: RequestId, secret: LoginSecret, salt: PasswordSalt, newSecret: LoginSecret, backup: Backup }),
  z.object({ t: z.literal("resume"), id: RequestId, token: Token }),
  z.object({ t: z.literal("refresh"), id: RequestId, refresh: Token }),
  z.object({ t: z.literal("logout"), id: RequestId }),
  /** This account's live sessions. */
  z.object({ t: z.literal("sessions"), id: RequestId }),
  /** Ends one session of this account (`session`), or every other one (`others`). */
  z.object({ t: z.literal("revoke"), id: RequestId, session: Uuid.optional(), others: z.literal(true).optional() }),
  z.object({ t: z.literal("receive"), id: RequestId }),
  z.object({ t: z.literal("send"), id: RequestId, msg: z.object({ id: Uuid, to: Uuid, body: Bytes }) }),
  z.object({ t: z.literal("ack"), msgId: Uuid }),
  z.object({ t: z.literal("user"), id: RequestId, user: Name }),
  z.object({ t: z.literal("claim"), id: RequestId, user: Name }),
  /** Adds one-time prekeys (`addKem`: one-time ML-KEM-768 ones); `replace` first drops every unused one of both kinds. */
  z.object({ t: z.literal("prekeys"), id: RequestId, add: z.array(SignedPrekey).max(MAX_PREKEY_UPLOAD), addKem: KemPrekeys.optional(), replace: z.boolean().optional() }),
  z.object({ t: z.literal("backup"), id: RequestId, put: Backup.optional() }),
  /** Replaces my signed prekey and with it my last-resort KEM prekey (rotated every 7 days by default); answered `ok`. */
  z.object({ t: z.literal("signedPrekey"), id: RequestId, key: SignedPrekey, kemLastResort: SignedPrekey.optional() }),
  z.object({ t: z.literal("ping"), id: RequestId }),
  /**
   * A group command; `user` for add, remove and admin; `members` for create; `entry` (the
   * signed change) for every op that changes the group; `after` for chain.
   */
  z.object({
    t: z.literal("group"), id: RequestId,
    op: z.enum(["create", "join", "members", "add", "remove", "leave", "admin", "close", "chain"]),
    name: Name, user: Name.optional(), members: z.array(Name).max(256).optional(),
    entry: ChainEntryText.optional(), after: z.number().int().min(-1).optional(),
  }),
  z.object({ t: z.literal("groups"), id: RequestId }),
  /** A group message, sealed with the sender's sender key. */
  z.object({ t: z.literal("gsend"), id: RequestId, msg: z.object({ id: Uuid, group: Uuid, body: Bytes }) }),
  /** Who is online now (and with `lastHour`, who was within the hour), blocks left out. */
  z.object({ t: z.literal("who"), id: RequestId, lastHour: z.boolean().optional() }),
  z.object({ t: z.literal("block"), id: RequestId, user: Name }),
  z.object({ t: z.literal("unblock"), id: RequestId, user: Name }),
  /** Stores my encrypted profile when `put` is given; answers my stored one. */
  z.object({ t: z.literal("profile"), id: RequestId, put: z.object({ blob: ProfileBlob }).optional() }),
  /** Another user's encrypted profile. */
  z.object({ t: z.literal("profileOf"), id: RequestId, user: Name }),
  /** Starts storing an encrypted file of `size` bytes; chunks follow. */
  z.object({ t: z.literal("upload"), id: RequestId, size: z.number().int().nonnegative() }),
  /** One piece of an upload; answered `ok` once taken, the `last` one `stored` once durable. */
  z.object({ t: z.literal("chunk"), id: RequestId, upload: Uuid, data: Bytes, last: z.boolean() }),
  /** Asks for a stored file; answered by `data` frames, the final one flagged `last`. */
  z.object({ t: z.literal("download"), id: RequestId, file: Uuid }),
]);
export type ClientFrame = z.infer<typeof ClientFrame>;
export type ClientFrameType = ClientFrame["t"];
export type ClientFrameOf<T extends ClientFrameType> = Extract<ClientFrame, { t: T }>;

// ---- edge → client ----------------------------------------------------------------

export const UserRef = z.object({ id: Uuid, name: Name });
export const GroupRef = z.object({ id: Uuid, name: Name });

/** A change of a group's membership, sent to its members by the group service. */
export const GroupEvent = z.object({
  kind: z.enum(["created", "joined", "added", "left", "removed", "admin", "closed"]),
  group: GroupRef,
  user: UserRef,
  by: UserRef.optional(),
});
export type GroupEvent = z.infer<typeof GroupEvent>;

/**
 * A message as it waits in an inbox and as the edge delivers it. `from` is stamped by
 * the edge (or the group service for group copies and events), never taken from a client.
 * A group copy carries `group`; a membership change carries `event` and an empty body.
 */
export const InboxMessage = z.object({
  v: z.literal(1),
  id: Uuid,
  from: Uuid,
  fromName: Name,
  body: Bytes,
  sentAt: z.number().int().nonnegative(),
  group: GroupRef.optional(),
  event: GroupEvent.optional(),
});
export type InboxMessage = z.infer<typeof InboxMessage>;

const ErrorCodeSchema = z.enum(Object.keys(ERRORS) as [keyof typeof ERRORS, ...(keyof typeof ERRORS)[]]);

export const ServerFrame = z.discriminatedUnion("t", [
  z.object({
    t: z.literal("welcome"), v: z.number().int(), edge: z.string(), maxFrame: z.number().int(),
    /** The largest file (ciphertext bytes) this server stores, and the chunk size to send it in. */
    maxFile: z.number().int(), chunkSize: z.number().int(),
  }),
  z.object({ t: z.literal("redirect"), to: z.string() }),
  z.object({ t: z.literal("salt"), id: RequestId, salt: PasswordSalt }),
  /** `expiresAt`: when `token` expires, in seconds since the epoch (the JWT's `exp`). */
  z.object({ t: z.literal("session"), id: RequestId, userId: Uuid, username: Name, token: Token, refresh: Token, expiresAt: z.number() }),
  z.object({ t: z.literal("resumed"), id: RequestId, userId: Uuid, username: Name }),
  z.object({ t: z.literal("sessions"), id: RequestId, sessions: z.array(SessionSummary) }),
  /** How many sessions a `revoke` ended. */
  z.object({ t: z.literal("revoked"), id: RequestId, ended: z.number().int() }),
  z.object({ t: z.literal("ok"), id: RequestId }),
  z.object({ t: z.literal("accepted"), id: RequestId, msgId: Uuid }),
  z.object({ t: z.literal("user"), id: RequestId, userId: Uuid, username: Name, identityKey: Base64url }),
  z.object({ t: z.literal("keys"), id: RequestId, userId: Uuid, username: Name, bundle: PrekeyBundle }),
  /** How many one-time prekeys the server holds for me, of each kind, and whether it holds my last-resort KEM prekey. */
  z.object({ t: z.literal("prekeys"), id: RequestId, count: z.number().int(), kemCount: z.number().int().optional(), kemLastResort: z.boolean().optional() }),
  z.object({ t: z.literal("backup"), id: RequestId, backup: Backup }),
  z.object({ t: z.literal("pong"), id: RequestId }),
  z.object({ t: z.literal("who"), id: RequestId, users: z.array(WhoEntry) }),
  z.object({ t: z.literal("profile"), id: RequestId, blob: ProfileBlob.nullable() }),
  z.object({ t: z.literal("profileOf"), id: RequestId, userId: Uuid, username: Name, blob: ProfileBlob.nullable() }),
  z.object({ t: z.literal("group"), id: RequestId, group: GroupView }),
  z.object({ t: z.literal("groups"), id: RequestId, groups: z.array(GroupSummary) }),
  z.object({ t: z.literal("chain"), id: RequestId, group: GroupRef, head: ChainHead, entries: z.array(ChainEntryText), more: z.boolean() }),
  z.object({
    t: z.literal("members"), id: RequestId, group: z.object({ id: Uuid, name: Name, closed: z.boolean() }),
    members: z.array(GroupMember.extend({ joinedAt: z.number() })),
  }),
  z.object({ t: z.literal("upload"), id: RequestId, file: Uuid }),
  z.object({ t: z.literal("stored"), id: RequestId, file: Uuid, size: z.number().int() }),
  z.object({ t: z.literal("data"), id: RequestId, data: Bytes, last: z.boolean() }),
  z.object({ t: z.literal("deliver"), msg: InboxMessage }),
  z.object({ t: z.literal("event"), kind: z.enum(["kicked", "shutdown"]), message: z.string() }),
  z.object({ t: z.literal("error"), id: RequestId.optional(), code: ErrorCodeSchema, message: z.string() }),
]);
export type ServerFrame = z.infer<typeof ServerFrame>;
export type ServerFrameOf<T extends ServerFrame["t"]> = Extract<ServerFrame, { t: T }>;
