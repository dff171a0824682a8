import { z } from "zod";
import { Backup, LoginSecret, PasswordSalt, PrekeyBundle, PublicBundle, SignedPrekey } from "./frames.ts";
import { Name } from "./names.ts";
import { verb } from "./rpc.ts";
import { ProfileBlob } from "./profile.ts";
import { SessionSummary } from "./session-summary.ts";

const Uuid = z.uuid();
/** The client's address as its edge saw it, for per-address limits. */
const Addr = z.string().max(64);

export const SessionGrant = z.object({
  userId: Uuid,
  username: Name,
  sid: Uuid,
  token: z.string(),
  refresh: z.string(),
  expiresAt: z.number(),
});
export type SessionGrant = z.infer<typeof SessionGrant>;

export { MAX_PROFILE_BLOB, ProfileBlob } from "./profile.ts";

/** Published on `<ns>.evt.blocks` (core NATS) after every block and unblock that changed something. */
export const BlockEvent = z.object({ blocker: Uuid, blocked: Uuid, blocking: z.boolean() });
export type BlockEvent = z.infer<typeof BlockEvent>;
/** Auth announces every session it ends (logout, takeover), so edges forget it was active. */
export const SessionEnded = z.object({ sid: Uuid });
export type SessionEnded = z.infer<typeof SessionEnded>;

export const PublicJwk = z.object({ kty: z.literal("OKP"), crv: z.literal("Ed25519"), x: z.string(), kid: z.string(), alg: z.literal("EdDSA") });
export type PublicJwk = z.infer<typeof PublicJwk>;

/**
 * The auth service's verbs (`<ns>.svc.auth.<verb>`). Only edges call them; every
 * `userId` in a request is the edge's authenticated user, never client text.
 */
export const AuthApi = {
  /** The salt a user's password is stretched under; for a name nobody has, one derived from a server secret. */
  salt: verb(z.object({ username: z.string().max(64) }), z.object({ salt: PasswordSalt })),
  register: verb(z.object({ username: z.string().max(64), salt: PasswordSalt, secret: LoginSecret, bundle: PublicBundle, backup: Backup, addr: Addr }), SessionGrant),
  login: verb(z.object({ username: z.string().max(64), secret: LoginSecret, addr: Addr }), SessionGrant),
  /**
   * Checks the current secret, stores the new salt, secret and backup, and ends every
   * session of the user but `sid`; answers the sessions it ended.
   */
  passwd: verb(
    z.object({ userId: Uuid, sid: Uuid, secret: LoginSecret, salt: PasswordSalt, newSecret: LoginSecret, backup: Backup, addr: Addr }),
    z.object({ ended: z.array(Uuid) }),
  ),
  /**
   * A new access token and a new refresh token for the same session; the old refresh token
   * is spent, and presenting a spent one ends its whole session. `addr`: where from.
   */
  refresh: verb(z.object({ refresh: z.string().max(256), addr: Addr.optional() }), SessionGrant),
  logout: verb(z.object({ sid: Uuid }), z.object({})),
  session: verb(z.object({ sid: Uuid }), z.object({ active: z.boolean() })),
  /** The user's live sessions; `sid` is the caller's own, marked `current`. */
  sessions: verb(z.object({ userId: Uuid, sid: Uuid }), z.object({ sessions: z.array(SessionSummary) })),
  /**
   * Ends one session of the user (`session`), or every one but the caller's (`except`);
   * answers the ids it ended. NO_SUCH_SESSION for a session that is not the user's or has ended.
   */
  revoke: verb(
    z.union([z.object({ userId: Uuid, session: Uuid }), z.object({ userId: Uuid, except: Uuid })]),
    z.object({ ended: z.array(Uuid) }),
  ),
  keys: verb(z.object({}), z.object({ keys: z.array(PublicJwk) })),
  user: verb(z.object({ username: Name }), z.object({ userId: Uuid, username: Name, identityKey: z.string() })),
  /** Whether an account has this id: edges refuse sends to ids nobody has. */
  exists: verb(z.object({ userId: Uuid }), z.object({ exists: z.boolean() })),
  /** `userId` is the claimer: claims are limited per claimer and per target. */
  claim: verb(z.object({ userId: Uuid, username: Name }), z.object({ userId: Uuid, username: Name, bundle: PrekeyBundle })),
  /**
   * Adds one-time prekeys (`addKem`: one-time ML-KEM-768 prekeys); `replace` first drops
   * every unused one of both kinds (after a restore from backup). Answers how many of each are
   * left, and whether the server holds a last-resort KEM prekey for the user.
   */
  prekeys: verb(
    z.object({ userId: Uuid, add: z.array(SignedPrekey).max(1000), addKem: z.array(SignedPrekey).max(1000).optional(), replace: z.boolean().optional() }),
    z.object({ count: z.number().int(), kemCount: z.number().int(), kemLastResort: z.boolean() }),
  ),
  backup: verb(z.object({ userId: Uuid, put: Backup.optional() }), z.object({ backup: Backup })),
  /**
   * Replaces the user's signed prekey, and the last-resort KEM prekey with it when given (the
   * client rotates them; their signatures are for clients to check).
   */
  signedPrekey: verb(z.object({ userId: Uuid, key: SignedPrekey, kemLastResort: SignedPrekey.optional() }), z.object({})),
  /** The caller blocks `username`: no messages from them, and presence and profile hidden both ways. */
  block: verb(z.object({ userId: Uuid, username: Name }), z.object({})),
  /** Undoes a block; unblocking someone not blocked is not an error. */
  unblock: verb(z.object({ userId: Uuid, username: Name }), z.object({})),
  /** Whom the user blocks and who blocks the user (user ids). */
  blocks: verb(z.object({ userId: Uuid }), z.object({ blocking: z.array(Uuid), blockedBy: z.array(Uuid) })),
  /** Stores the caller's encrypted profile with `put`; answers the caller's stored profile (null when none). */
  profile: verb(z.object({ userId: Uuid, put: z.object({ blob: ProfileBlob }).optional() }), z.object({ blob: ProfileBlob.nullable() })),
  /** Another user's encrypted profile; NO_SUCH_USER, as for a missing user, when either has blocked the other. */
  profileOf: verb(z.object({ userId: Uuid, username: Name }), z.object({ userId: Uuid, username: Name, blob: ProfileBlob.nullable() })),
} as const;

export type AuthApi = typeof AuthApi;
export type AuthVerb = keyof AuthApi;
