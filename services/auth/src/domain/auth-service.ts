import { NAME_PATTERN, NatterError, foldName, passwordProblem, type AuthApi, type PublicJwk, type VerbRequest, type VerbResult } from "@natter/protocol";
import type { Clock } from "@natter/kit";
import type { AccountStore } from "./account-store.ts";
import type { AttemptStore } from "./attempt-store.ts";
import { checkBundle, checkNewPassword, checkUsername } from "./credentials.ts";
import { accountLocked, addressWindow, secondsUntil, type LoginPolicy } from "./login-policy.ts";
import type { PasswordHasher } from "./password-hasher.ts";
import type { Secrets } from "./secrets.ts";
import type { SessionEndPublisher, SessionStore } from "./session-store.ts";
import type { TokenIssuer } from "./token-issuer.ts";

export interface AuthDeps {
  accounts: AccountStore;
  sessions: SessionStore;
  sessionEnds: SessionEndPublisher;
  attempts: AttemptStore;
  hasher: PasswordHasher;
  tokens: TokenIssuer;
  secrets: Secrets;
  clock: Clock;
}

export interface AuthSettings extends LoginPolicy {
  refreshTtlMs: number;
}

// Verified against for unknown users so that they take as long as wrong passwords.
const DUMMY_PASSWORD = "natter-no-such-user-password";

/**
 * The auth service's decisions: accounts, logins with lockout and per-address limits,
 * sessions with rotating refresh tokens, and the public keys of users' devices.
 */
export class AuthService {
  private constructor(
    private readonly deps: AuthDeps,
    private readonly settings: AuthSettings,
    private readonly dummyHash: string,
  ) {}

  static async create(deps: AuthDeps, settings: AuthSettings): Promise<AuthService> {
    return new AuthService(deps, settings, await deps.hasher.hash(DUMMY_PASSWORD));
  }

  async register(req: VerbRequest<AuthApi, "register">): Promise<VerbResult<AuthApi, "register">> {
    const now = this.deps.clock.now();
    await this.limitAddress(req.addr, now);
    const username = checkUsername(req.username);
    checkNewPassword(req.password);
    checkBundle(req.bundle);
    if (await this.deps.accounts.findByName(username)) throw new NatterError("USERNAME_TAKEN");
    const id = this.deps.secrets.newId();
    const passwordHash = await this.deps.hasher.hash(req.password);
    const outcome = await this.deps.accounts.create({ id, username, passwordHash, bundle: req.bundle, backup: req.backup, createdAt: now });
    if (outcome === "taken") throw new NatterError("USERNAME_TAKEN");
    return this.openSession(id, username, now);
  }

  /**
   * One answer, BAD_CREDENTIALS, for an unknown user and a wrong password, after the same
   * bcrypt work. The account locks after `maxFailures` in a row, from any address.
   */
  async login(req: VerbRequest<AuthApi, "login">): Promise<VerbResult<AuthApi, "login">> {
    const now = this.deps.clock.now();
    await this.limitAddress(req.addr, now);
    const username = foldName(req.username);
    const account = NAME_PATTERN.test(username) ? await this.deps.accounts.findByName(username) : undefined;
    if (account?.lockedUntil !== undefined && account.lockedUntil > now) throw accountLocked(account.lockedUntil, now);

    // A password over 72 bytes can never be right: bcrypt would compare only its first 72.
    const matches = await this.deps.hasher.verify(req.password, account?.passwordHash ?? this.dummyHash);
    if (!account || !matches || passwordProblem(req.password) !== undefined) {
      if (account) {
        const failures = await this.deps.accounts.recordFailure(account.id);
        if (failures >= this.settings.maxFailures) await this.deps.accounts.lock(account.id, now + this.settings.lockMs);
      }
      throw new NatterError("BAD_CREDENTIALS");
    }
    if (account.failedLogins > 0 || account.lockedUntil !== undefined) await this.deps.accounts.resetFailures(account.id);
    return this.openSession(account.id, account.username, now);
  }

  /** A new access token for the same session; the refresh token is replaced (single use). */
  async refresh(req: VerbRequest<AuthApi, "refresh">): Promise<VerbResult<AuthApi, "refresh">> {
    const now = this.deps.clock.now();
    const refresh = this.deps.secrets.newRefreshToken();
    const session = await this.deps.sessions.rotate(
      this.deps.secrets.digest(req.refresh),
      this.deps.secrets.digest(refresh),
      now,
      now + this.settings.refreshTtlMs,
    );
    if (!session) throw new NatterError("TOKEN_INVALID");
    const { token, expiresAt } = await this.deps.tokens.issue(session, now);
    return { userId: session.userId, username: session.username, sid: session.sid, token, refresh, expiresAt };
  }

  async logout(req: VerbRequest<AuthApi, "logout">): Promise<VerbResult<AuthApi, "logout">> {
    await this.deps.sessions.revoke(req.sid, this.deps.clock.now());
    this.deps.sessionEnds.publish({ sid: req.sid });
    return {};
  }

  async session(req: VerbRequest<AuthApi, "session">): Promise<VerbResult<AuthApi, "session">> {
    return { active: await this.deps.sessions.isActive(req.sid, this.deps.clock.now()) };
  }

  keys(): { keys: PublicJwk[] } {
    return { keys: this.deps.tokens.publicKeys() };
  }

  async user(req: VerbRequest<AuthApi, "user">): Promise<VerbResult<AuthApi, "user">> {
    const found = await this.deps.accounts.publicIdentity(req.username);
    if (!found) throw new NatterError("NO_SUCH_USER");
    return found;
  }

  async claim(req: VerbRequest<AuthApi, "claim">): Promise<VerbResult<AuthApi, "claim">> {
    const found = await this.deps.accounts.claimBundle(req.username);
    if (!found) throw new NatterError("NO_SUCH_USER");
    return found;
  }

  async prekeys(req: VerbRequest<AuthApi, "prekeys">): Promise<VerbResult<AuthApi, "prekeys">> {
    const ids = new Set(req.add.map((k) => k.id));
    if (ids.size !== req.add.length) throw new NatterError("INVALID_BUNDLE", "one-time prekey ids repeat");
    const count = await this.deps.accounts.addPrekeys(req.userId, req.add, req.replace ?? false);
    if (count === undefined) throw new NatterError("NO_SUCH_USER");
    return { count };
  }

  async backup(req: VerbRequest<AuthApi, "backup">): Promise<VerbResult<AuthApi, "backup">> {
    if (req.put !== undefined) {
      const stored = await this.deps.accounts.putBackup(req.userId, req.put, this.deps.clock.now());
      if (!stored) throw new NatterError("NO_SUCH_USER");
      return { backup: req.put };
    }
    const backup = await this.deps.accounts.getBackup(req.userId);
    if (backup === undefined) throw new NatterError("NO_SUCH_USER");
    return { backup };
  }

  private async limitAddress(addr: string, now: number): Promise<void> {
    const window = addressWindow(now, this.settings);
    const attempts = await this.deps.attempts.hit(addr, window.start);
    if (attempts > this.settings.addrLimit) {
      throw new NatterError("RATE_LIMITED", undefined, { detail: { retryAfter: secondsUntil(window.end, now) } });
    }
  }

  private async openSession(userId: string, username: string, now: number): Promise<VerbResult<AuthApi, "login">> {
    const sid = this.deps.secrets.newId();
    const refresh = this.deps.secrets.newRefreshToken();
    await this.deps.sessions.create({
      sid,
      userId,
      refreshHash: this.deps.secrets.digest(refresh),
      createdAt: now,
      refreshExpiresAt: now + this.settings.refreshTtlMs,
    });
    const { token, expiresAt } = await this.deps.tokens.issue({ userId, username, sid }, now);
    return { userId, username, sid, token, refresh, expiresAt };
  }
}
