import { availableParallelism } from "node:os";
import { z } from "zod";
import { CommonEnv, loadConfig } from "@natter/kit";

const Base64url = z.string().regex(/^[A-Za-z0-9_-]+$/);
const SigningJwk = z.object({
  kty: z.literal("OKP"),
  crv: z.literal("Ed25519"),
  x: Base64url.length(43),
  d: Base64url.length(43),
  kid: z.string().min(1).max(64),
  alg: z.literal("EdDSA").optional(),
});

const JwtKeys = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: "custom", message: "must be a JSON array of Ed25519 private JWKs" });
      return z.NEVER;
    }
  })
  .pipe(z.array(SigningJwk).min(1, "needs at least one key"))
  .refine((keys) => new Set(keys.map((k) => k.kid)).size === keys.length, "key ids (kid) must differ");

const Seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** The auth service's environment. */
export const AuthEnv = z
  .object({
    ...CommonEnv,
    NODE_ENV: z.string().optional(),
    /** JSON array of private Ed25519 JWKs with `kid`: the first signs, all verify. */
    AUTH_JWT_KEYS: JwtKeys,
    AUTH_BCRYPT_COST: z.coerce.number().int().min(4).max(31).default(12),
    /** bcrypt hashes at once; the default leaves one core to the event loops. */
    AUTH_BCRYPT_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(Math.max(1, availableParallelism() - 1)),
    AUTH_TOKEN_TTL: Seconds(900),
    AUTH_REFRESH_TTL: Seconds(30 * 24 * 3600),
    /** Port for /healthz and /readyz; 0 turns them off. */
    AUTH_HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(0),
    AUTH_LOCK_SECONDS: Seconds(60),
    /** Login and register attempts per client address per minute. */
    AUTH_ADDR_LIMIT: z.coerce.number().int().positive().default(30),
    /**
     * Failures of one name, from every address, after which addresses its owner never used
     * wait between attempts: from 1 s, doubling, up to AUTH_ACCOUNT_MAX_DELAY_SECONDS.
     */
    AUTH_ACCOUNT_DELAY_AFTER: z.coerce.number().int().positive().default(10),
    AUTH_ACCOUNT_MAX_DELAY_SECONDS: Seconds(300),
    /** How long a session lasts after its login, however often it is refreshed (90 days). */
    AUTH_SESSION_MAX_AGE: Seconds(90 * 24 * 3600),
    /**
     * The secret made-up salts (for names nobody has) are derived from; when unset, the
     * first JWT signing key's private part. Set it to keep those salts when keys rotate.
     */
    AUTH_SALT_SECRET: z.string().min(32).optional(),
    /** Prekey bundles one user may claim per hour, in all and of any one user (refused past either). */
    AUTH_CLAIM_LIMIT: z.coerce.number().int().positive().default(500),
    AUTH_CLAIM_PAIR_LIMIT: z.coerce.number().int().positive().default(10),
    /** One-time prekeys handed out per user per hour; later claims get bundles without one. */
    AUTH_CLAIM_PREKEY_LIMIT: z.coerce.number().int().positive().default(100),
  })
  .refine((env) => env.NODE_ENV === "test" || !(env.AUTH_BCRYPT_COST < 10), {
    message: "must be at least 10 (lower costs only with NODE_ENV=test)",
    path: ["AUTH_BCRYPT_COST"],
    // Checked even when other variables are wrong, so every problem is listed at once.
    when: (payload) => {
      const value = payload.value as { AUTH_BCRYPT_COST?: unknown };
      return typeof value?.AUTH_BCRYPT_COST === "number";
    },
  });

export type AuthConfig = z.output<typeof AuthEnv>;

/** Secret entries to leave out of any printout. */
export const AUTH_SECRETS = ["AUTH_JWT_KEYS", "AUTH_SALT_SECRET"] as const;

export function loadAuthConfig(env: NodeJS.ProcessEnv = process.env): Readonly<AuthConfig> {
  return loadConfig(AuthEnv, env);
}
