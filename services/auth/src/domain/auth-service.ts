import { NAME_PATTERN, NatterError, foldName, type AuthApi, type PublicJwk, type VerbRequest, type VerbResult } from "@natter/protocol";
import type { Clock } from "@natter/kit";
import type { AccountStore } from "./account-store.ts";
import type { AttemptStore } from "./attempt-store.ts";
import { countClaim, type ClaimCounter, type ClaimPolicy } from "./claim-limits.ts";
import { checkBundle, checkUniqueIds, checkUsername } from "./credentials.ts";
import { accountLocked, addressWindow, admitLogin, loginSucceeded, secondsUntil, type LoginPolicy } from "./login-policy.ts";
import type { PasswordHasher } from "./password-hasher.ts";
import type { PasswordSalts } from "./password-salts.ts";
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
  salts: PasswordSalts;
  claims: ClaimCounter;
  clock: Clock;
}

export interface AuthSettings extends LoginPolicy, ClaimPolicy {
  refreshTtlMs: number;
  /** The absolute lifetime of a session, however often it is refreshed (default 90 days). */
  sessionMaxAgeMs?: number;
}

const DEFAULT_SESSION_MAX_AGE_MS = 90 * 86_400_000;

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
    checkBundle(req.bundle);
    if (await this.deps.accounts.findByName(username)) throw new NatterError("USERNAME_TAKEN");
    const id = this.deps.secrets.newId();
    // The login secret, never the password: the client stretched that under `salt` and kept it.
    const passwordHash = await this.deps.hasher.hash(req.secret);
    const outcome = await this.deps.accounts.create({ id, username, salt: req.salt, passwordHash, bundle: req.bundle, backup: req.backup, createdAt: now });
    if (outcome === "taken") throw new NatterError("USERNAME_TAKEN");
    return this.openSession(id, username, now, req.addr);
  }

  /**
   * One answer, BAD_CREDENTIALS, for an unknown user and a wrong password, after the same
   * bcrypt work. Each attempt is counted before the hash is checked (`login-policy.ts`):
   * `maxFailures` in a row lock one address out of one name, and failures from everywhere
   * make addresses the owner never logged in from wait; missing names are counted alike.
   */
  async login(req: VerbRequest<AuthApi, "login">): Promise<VerbResult<AuthApi, "login">> {
    const now = this.deps.clock.now();
    await this.limitAddress(req.addr, now);
    const username = foldName(req.username);
    await this.admitLogin(username, req.addr, now);
    const account = NAME_PATTERN.test(username) ? await this.deps.accounts.findByName(username) : undefined;
    const matches = await this.deps.hasher.verify(req.secret, account?.passwordHash ?? this.dummyHash);
    if (!account || !matches) throw new NatterError("BAD_CREDENTIALS");
    return this.openSession(account.id, account.username, now, req.addr);
  }

  /**
   * A new access token for the same session; the refresh token is replaced (single use).
   * A spent refresh token presented again means two parties hold the session's tokens:
   * the whole session ends, whoever holds its newest token.
   */
  async refresh(req: VerbRequest<AuthApi, "refresh">): Promise<VerbResult<AuthApi, "refresh">> {
    const now = this.deps.clock.now();
    const refresh = this.deps.secrets.newRefreshToken();
    const session = await this.deps.sessions.rotate(
      this.deps.secrets.digest(req.refresh),
      this.deps.secrets.digest(refresh),
      now,
      now + this.settings.refreshTtlMs,
      req.addr,
    );
    if (session.outcome === "reused") this.deps.sessionEnds.publish({ sid: session.sid });
    if (session.outcome !== "rotated") throw new NatterError("TOKEN_INVALID");
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

  /** The user's live sessions, the caller's own marked `current`. */
  async sessions(req: VerbRequest<AuthApi, "sessions">): Promise<VerbResult<AuthApi, "sessions">> {
    const sessions = await this.deps.sessions.list(req.userId, this.deps.clock.now());
    return {
      sessions: sessions.map(({ sid, ...s }) => ({ id: sid, ...s, current: sid === req.sid })),
    };
  }

  /** Ends one session of the user, or all but the caller's; each is announced to the edges. */
  async revoke(req: VerbRequest<AuthApi, "revoke">): Promise<VerbResult<AuthApi, "revoke">> {
    const now = this.deps.clock.now();
    let ended: string[];
    if ("session" in req) {
      if (!(await this.deps.sessions.revokeOne(req.userId, req.session, now))) throw new NatterError("NO_SUCH_SESSION");
      ended = [req.session];
    } else {
      ended = await this.deps.sessions.revokeOthers(req.userId, req.except, now);
    }
    for (const sid of ended) this.deps.sessionEnds.publish({ sid });
    return { ended };
  }

  keys(): { keys: PublicJwk[] } {
    return { keys: this.deps.tokens.publicKeys() };
  }

  async user(req: VerbRequest<AuthApi, "user">): Promise<VerbResult<AuthApi, "user">> {
    const found = await this.deps.accounts.publicIdentity(req.username);
    if (!found) throw new NatterError("NO_SUCH_USER");
    return found;
  }

  /** The salt to stretch `username`'s password under; a made-up, stable one for a name nobody has. */
  async salt(req: VerbRequest<AuthApi, "salt">): Promise<VerbResult<AuthApi, "salt">> {
    const username = foldName(req.username);
    const account = NAME_PATTERN.test(username) ? await this.deps.accounts.findByName(username) : undefined;
    return { salt: account?.salt ?? this.deps.salts.fakeSalt(username) };
  }

  /**
   * A new password, proven by the current login secret: the new salt, the hash of the new
   * secret and the backup sealed under the new key are stored at once, and every other
   * session of the account ends.
   */
  async passwd(req: VerbRequest<AuthApi, "passwd">): Promise<VerbResult<AuthApi, "passwd">> {
    const now = this.deps.clock.now();
    await this.limitAddress(req.addr, now);
    const account = await this.deps.accounts.findById(req.userId);
    if (!account || !(await this.deps.hasher.verify(req.secret, account.passwordHash))) throw new NatterError("BAD_CREDENTIALS");
    const passwordHash = await this.deps.hasher.hash(req.newSecret);
    if (!(await this.deps.accounts.changePassword(req.userId, { salt: req.salt, passwordHash, backup: req.backup, at: now }))) {
      throw new NatterError("NO_SUCH_USER");
    }
    const ended = await this.deps.sessions.revokeOthers(req.userId, req.sid, now);
    for (const sid of ended) this.deps.sessionEnds.publish({ sid });
    return { ended };
  }

  /** A bundle to start a session with; limited per claimer and per target (`claim-limits.ts`). */
  async claim(req: VerbRequest<AuthApi, "claim">): Promise<VerbResult<AuthApi, "claim">> {
    const { oneTimePrekey } = await countClaim(this.deps.claims, this.settings, req.userId, req.username, this.deps.clock.now());
    const found = await this.deps.accounts.claimBundle(req.username, oneTimePrekey);
    if (!found) throw new NatterError("NO_SUCH_USER");
    return found;
  }

  async prekeys(req: VerbRequest<AuthApi, "prekeys">): Promise<VerbResult<AuthApi, "prekeys">> {
    const kem = req.addKem ?? [];
    checkUniqueIds(req.add);
    checkUniqueIds(kem);
    const counts = await this.deps.accounts.addPrekeys(req.userId, { curve: req.add, kem }, req.replace ?? false);
    if (counts === undefined) throw new NatterError("NO_SUCH_USER");
    return counts;
  }

  async signedPrekey(req: VerbRequest<AuthApi, "signedPrekey">): Promise<VerbResult<AuthApi, "signedPrekey">> {
    if (!(await this.deps.accounts.setSignedPrekey(req.userId, req.key, this.deps.clock.now(), req.kemLastResort))) throw new NatterError("NO_SUCH_USER");
    return {};
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

  /** Counts the attempt as a failure before any hash is checked; ACCOUNT_LOCKED when it may not be made now. */
  private async admitLogin(username: string, addr: string, now: number): Promise<void> {
    const admission = await this.deps.attempts.updateLogin(username, addr, now, (state) => {
      const decided = admitLogin(state, now, this.settings);
      return { state: decided.state, result: decided.admission };
    });
    if (!admission.admitted) throw accountLocked(admission.until, now);
  }

  /** A session from `addr`, which is known to the account from now on (strangers' failures never delay it). */
  private async openSession(userId: string, username: string, now: number, addr: string): Promise<VerbResult<AuthApi, "login">> {
    await this.deps.attempts.updateLogin(username, addr, now, (state) => ({ state: loginSucceeded(state, now), result: undefined }));
    const sid = this.deps.secrets.newId();
    const refresh = this.deps.secrets.newRefreshToken();
    await this.deps.sessions.create({
      sid,
      userId,
      refreshHash: this.deps.secrets.digest(refresh),
      createdAt: now,
      refreshExpiresAt: now + this.settings.refreshTtlMs,
      expiresAt: now + (this.settings.sessionMaxAgeMs ?? DEFAULT_SESSION_MAX_AGE_MS),
      addr,
    });
    const { token, expiresAt } = await this.deps.tokens.issue({ userId, username, sid }, now);
    return { userId, username, sid, token, refresh, expiresAt };
  }
}
