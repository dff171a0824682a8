import { z } from "zod";
import { Backup, PrekeyBundle, PublicBundle, SignedPrekey } from "./frames.ts";
import { Name } from "./names.ts";
import { verb } from "./rpc.ts";

const Uuid = z.uuid();
/** The client's address as its edge saw it, for per-address limits. */
const Addr = z.string().max(64);
const Password = z.string().max(1024);

export const SessionGrant = z.object({
  userId: Uuid,
  username: Name,
  sid: Uuid,
  token: z.string(),
  refresh: z.string(),
  expiresAt: z.number(),
});
export type SessionGrant = z.infer<typeof SessionGrant>;

export const PublicJwk = z.object({ kty: z.literal("OKP"), crv: z.literal("Ed25519"), x: z.string(), kid: z.string(), alg: z.literal("EdDSA") });
export type PublicJwk = z.infer<typeof PublicJwk>;

/**
 * The auth service's verbs (`<ns>.svc.auth.<verb>`). Only edges call them; every
 * `userId` in a request is the edge's authenticated user, never client text.
 */
export const AuthApi = {
  register: verb(z.object({ username: z.string().max(64), password: Password, bundle: PublicBundle, backup: Backup, addr: Addr }), SessionGrant),
  login: verb(z.object({ username: z.string().max(64), password: Password, addr: Addr }), SessionGrant),
  refresh: verb(z.object({ refresh: z.string().max(256) }), SessionGrant),
  logout: verb(z.object({ sid: Uuid }), z.object({})),
  session: verb(z.object({ sid: Uuid }), z.object({ active: z.boolean() })),
  keys: verb(z.object({}), z.object({ keys: z.array(PublicJwk) })),
  user: verb(z.object({ username: Name }), z.object({ userId: Uuid, username: Name, identityKey: z.string() })),
  claim: verb(z.object({ username: Name }), z.object({ userId: Uuid, username: Name, bundle: PrekeyBundle })),
  /** Adds one-time prekeys; `replace` first drops every unused one (after a restore from backup). */
  prekeys: verb(z.object({ userId: Uuid, add: z.array(SignedPrekey).max(1000), replace: z.boolean().optional() }), z.object({ count: z.number().int() })),
  backup: verb(z.object({ userId: Uuid, put: Backup.optional() }), z.object({ backup: Backup })),
} as const;

export type AuthApi = typeof AuthApi;
