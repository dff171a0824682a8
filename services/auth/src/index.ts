/**
 * @natter/auth: accounts, passwords, lockout, tokens, device keys, prekeys, key backup,
 * blocks and encrypted profiles.
 * `startAuth` runs the service in process (tests, launchers); `src/main.ts` is its entry point.
 */
export { startAuth, type RunningAuth } from "./start-auth.ts";
export { AuthEnv, AUTH_SECRETS, loadAuthConfig, type AuthConfig } from "./config.ts";
export { generateSigningKey, AUDIENCE, ISSUER, type SigningJwk } from "./adapters/crypto/jwt-issuer.ts";
export { AuthService, type AuthDeps, type AuthSettings } from "./domain/auth-service.ts";
export { PrivacyService, type PrivacyDeps } from "./domain/privacy-service.ts";
export type { BlockStore } from "./domain/block-store.ts";
export type { ProfileStore } from "./domain/profile-store.ts";
export type { BlockPublisher } from "./domain/block-publisher.ts";
export type { Account, AccountStore, ClaimedBundle, NewAccount, PublicIdentity } from "./domain/account-store.ts";
export type { AttemptStore } from "./domain/attempt-store.ts";
export type { NewSession, SessionStore } from "./domain/session-store.ts";
export type { PasswordHasher } from "./domain/password-hasher.ts";
export type { AccessClaims, TokenIssuer } from "./domain/token-issuer.ts";
export type { Secrets } from "./domain/secrets.ts";
export { DEFAULT_LOGIN_POLICY, type LoginPolicy } from "./domain/login-policy.ts";
