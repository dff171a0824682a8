// In-memory implementations of the domain's interfaces, for unit tests.
import type { Clock } from "@natter/kit";
import type { BlockEvent, PublicBundle, SignedPrekey } from "@natter/protocol";
import type { Account, AccountStore, ClaimedBundle, NewAccount, PrekeyCounts, PrekeyUpload, PublicIdentity } from "../src/domain/account-store.ts";
import type { AttemptStore, LoginState } from "../src/domain/attempt-store.ts";
import type { BlockStore } from "../src/domain/block-store.ts";
import type { PasswordHasher } from "../src/domain/password-hasher.ts";
import type { PasswordSalts } from "../src/domain/password-salts.ts";
import type { ProfileStore } from "../src/domain/profile-store.ts";
import type { Secrets } from "../src/domain/secrets.ts";
import type { NewSession, Rotation, SessionStore, SessionSummary } from "../src/domain/session-store.ts";
import type { AccessClaims, TokenIssuer } from "../src/domain/token-issuer.ts";

export class FakeClock implements Clock {
  constructor(public ms = Date.UTC(2030, 0, 1)) {}
  now(): number {
    return this.ms;
  }
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

/** Reversible "hashing" that records every verify, to check unknown users cost the same. */
export class FakeHasher implements PasswordHasher {
  readonly verified: Array<{ password: string; hash: string }> = [];
  async hash(password: string): Promise<string> {
    return `hashed:${password}`;
  }
  async verify(password: string, hash: string): Promise<boolean> {
    this.verified.push({ password, hash });
    // Like bcrypt, only the first 72 bytes count.
    const cut = (s: string) => Buffer.from(s, "utf8").subarray(0, 72).toString("latin1");
    return hash.startsWith("hashed:") && cut(hash.slice(7)) === cut(password);
  }
}

export class FakeSecrets implements Secrets {
  private n = 0;
  newId(): string {
    this.n += 1;
    return `00000000-0000-4000-8000-${String(this.n).padStart(12, "0")}`;
  }
  newRefreshToken(): string {
    this.n += 1;
    return `refresh-${this.n}`;
  }
  digest(refreshToken: string): string {
    return `digest(${refreshToken})`;
  }
}

/** Made-up salts that show the name they were made for. */
export class FakeSalts implements PasswordSalts {
  fakeSalt(username: string): string {
    return Buffer.from(`fake:${username}`.padEnd(16, ".").slice(0, 16)).toString("base64url");
  }
}

export class FakeTokens implements TokenIssuer {
  async issue(claims: AccessClaims, nowMs: number): Promise<{ token: string; expiresAt: number }> {
    return { token: `token:${claims.sid}:${nowMs}`, expiresAt: Math.floor(nowMs / 1000) + 900 };
  }
  publicKeys() {
    return [{ kty: "OKP" as const, crv: "Ed25519" as const, x: "x", kid: "k1", alg: "EdDSA" as const }];
  }
}

interface StoredAccount extends Account {
  bundle: PublicBundle;
  prekeys: SignedPrekey[];
  kemPrekeys: SignedPrekey[];
  backup: string;
}

export class MemoryAccounts implements AccountStore {
  readonly byId = new Map<string, StoredAccount>();

  async create(a: NewAccount): Promise<"created" | "taken"> {
    if (await this.findByName(a.username)) return "taken";
    this.byId.set(a.id, {
      id: a.id, username: a.username, passwordHash: a.passwordHash, salt: a.salt,
      bundle: a.bundle, prekeys: [...a.bundle.oneTimePrekeys], kemPrekeys: [...(a.bundle.kemOneTimePrekeys ?? [])], backup: a.backup,
    });
    return "created";
  }
  async findByName(username: string): Promise<Account | undefined> {
    const found = [...this.byId.values()].find((a) => a.username === username);
    return found && { ...found };
  }
  async findById(userId: string): Promise<Account | undefined> {
    const found = this.byId.get(userId);
    return found && { ...found };
  }
  async changePassword(userId: string, change: { salt: string; passwordHash: string; backup: string }): Promise<boolean> {
    const a = this.byId.get(userId);
    if (!a) return false;
    Object.assign(a, { salt: change.salt, passwordHash: change.passwordHash, backup: change.backup });
    return true;
  }
  async publicIdentity(username: string): Promise<PublicIdentity | undefined> {
    const a = [...this.byId.values()].find((x) => x.username === username);
    return a && { userId: a.id, username: a.username, identityKey: a.bundle.identityKey };
  }
  async claimBundle(username: string, withOneTimePrekey = true): Promise<ClaimedBundle | undefined> {
    const a = [...this.byId.values()].find((x) => x.username === username);
    if (!a) return undefined;
    const { oneTimePrekeys: _all, kemOneTimePrekeys: _kem, ...rest } = a.bundle;
    const oneTimePrekey = withOneTimePrekey ? a.prekeys.shift() : undefined;
    const kemOneTimePrekey = withOneTimePrekey ? a.kemPrekeys.shift() : undefined;
    return {
      userId: a.id, username: a.username,
      bundle: { ...rest, ...(oneTimePrekey ? { oneTimePrekey } : {}), ...(kemOneTimePrekey ? { kemOneTimePrekey } : {}) },
    };
  }
  async addPrekeys(userId: string, keys: PrekeyUpload, replace = false): Promise<PrekeyCounts | undefined> {
    const a = this.byId.get(userId);
    if (!a) return undefined;
    const merge = (held: SignedPrekey[], add: readonly SignedPrekey[]) => [...held.filter((k) => !add.some((n) => n.id === k.id)), ...add];
    a.prekeys = merge(replace ? [] : a.prekeys, keys.curve);
    a.kemPrekeys = merge(replace ? [] : a.kemPrekeys, keys.kem);
    return { count: a.prekeys.length, kemCount: a.kemPrekeys.length, kemLastResort: a.bundle.kemLastResortPrekey !== undefined };
  }
  async setSignedPrekey(userId: string, key: SignedPrekey, _at: number, kemLastResort?: SignedPrekey): Promise<boolean> {
    const a = this.byId.get(userId);
    if (!a) return false;
    a.bundle = { ...a.bundle, signedPrekey: key, ...(kemLastResort ? { kemLastResortPrekey: kemLastResort } : {}) };
    return true;
  }
  async putBackup(userId: string, backup: string): Promise<boolean> {
    const a = this.byId.get(userId);
    if (!a) return false;
    a.backup = backup;
    return true;
  }
  async getBackup(userId: string): Promise<string | undefined> {
    return this.byId.get(userId)?.backup;
  }
}

export class MemorySessions implements SessionStore {
  readonly rows = new Map<string, NewSession & { revokedAt?: number; lastSeenAt: number; lastAddr: string; spent: string[] }>();
  constructor(private readonly accounts: MemoryAccounts) {}

  async create(session: NewSession): Promise<void> {
    this.rows.set(session.sid, { ...session, lastSeenAt: session.createdAt, lastAddr: session.addr, spent: [] });
  }
  async rotate(oldHash: string, newHash: string, now: number, refreshExpiresAt: number, addr: string | undefined): Promise<Rotation> {
    const row = [...this.rows.values()].find((s) => s.refreshHash === oldHash);
    if (!row || !this.live(row, now)) {
      const spentBy = [...this.rows.values()].find((s) => s.spent.includes(oldHash));
      if (!spentBy) return { outcome: "unknown" };
      spentBy.revokedAt ??= now;
      return { outcome: "reused", sid: spentBy.sid };
    }
    row.spent.push(oldHash);
    row.refreshHash = newHash;
    row.refreshExpiresAt = Math.min(refreshExpiresAt, row.expiresAt);
    row.lastSeenAt = now;
    row.lastAddr = addr ?? row.lastAddr;
    return { outcome: "rotated", sid: row.sid, userId: row.userId, username: this.accounts.byId.get(row.userId)!.username };
  }
  async revokeOne(userId: string, sid: string, now: number): Promise<boolean> {
    const row = this.rows.get(sid);
    if (!row || row.userId !== userId || !this.live(row, now)) return false;
    row.revokedAt = now;
    return true;
  }
  async list(userId: string, now: number): Promise<SessionSummary[]> {
    return [...this.rows.values()]
      .filter((s) => s.userId === userId && this.live(s, now))
      .map((s) => ({ sid: s.sid, addr: s.addr, lastAddr: s.lastAddr, startedAt: s.createdAt, lastSeenAt: s.lastSeenAt, expiresAt: s.expiresAt }));
  }
  private live(row: { revokedAt?: number; refreshExpiresAt: number; expiresAt: number }, now: number): boolean {
    return row.revokedAt === undefined && row.refreshExpiresAt > now && row.expiresAt > now;
  }
  async revoke(sid: string, now: number): Promise<void> {
    const row = this.rows.get(sid);
    if (row) row.revokedAt ??= now;
  }
  async revokeOthers(userId: string, keep: string, now: number): Promise<string[]> {
    const ended = [...this.rows.values()].filter((s) => s.userId === userId && s.sid !== keep && s.revokedAt === undefined);
    for (const s of ended) s.revokedAt = now;
    return ended.map((s) => s.sid);
  }
  async isActive(sid: string, now: number): Promise<boolean> {
    const row = this.rows.get(sid);
    if (!row || !this.live(row, now)) return false;
    row.lastSeenAt = now;
    return true;
  }
}

export class MemoryAttempts implements AttemptStore {
  private readonly logins = new Map<string, LoginState>();
  async updateLogin<T>(username: string, addr: string, _now: number, decide: (state: LoginState) => { state: LoginState; result: T }): Promise<T> {
    const account = [...this.logins].find(([key]) => key.startsWith(`${username} `))?.[1].account
      ?? { failures: 0, notBefore: undefined, lastFailureAt: undefined };
    const pair = this.logins.get(`${username} ${addr}`)?.pair ?? { failures: 0, lockedUntil: undefined, knownSince: undefined };
    const { state, result } = decide({ account, pair });
    for (const [key, value] of this.logins) if (key.startsWith(`${username} `)) value.account = state.account;
    this.logins.set(`${username} ${addr}`, { ...state });
    return result;
  }
  private readonly windows = new Map<string, { start: number; count: number }>();
  async hit(addr: string, windowStart: number): Promise<number> {
    const w = this.windows.get(addr);
    const next = w && w.start === windowStart ? { start: windowStart, count: w.count + 1 } : { start: windowStart, count: 1 };
    this.windows.set(addr, next);
    return next.count;
  }
}

export class MemoryBlocks implements BlockStore {
  /** `blocker blocked` pairs. */
  readonly pairs = new Set<string>();
  async block(blocker: string, blocked: string): Promise<boolean> {
    const key = `${blocker} ${blocked}`;
    if (this.pairs.has(key)) return false;
    this.pairs.add(key);
    return true;
  }
  async unblock(blocker: string, blocked: string): Promise<boolean> {
    return this.pairs.delete(`${blocker} ${blocked}`);
  }
  async blocksOf(userId: string): Promise<{ blocking: string[]; blockedBy: string[] }> {
    const pairs = [...this.pairs].map((p) => p.split(" ") as [string, string]);
    return {
      blocking: pairs.filter(([by]) => by === userId).map(([, of]) => of),
      blockedBy: pairs.filter(([, of]) => of === userId).map(([by]) => by),
    };
  }
  async eitherBlocks(a: string, b: string): Promise<boolean> {
    return this.pairs.has(`${a} ${b}`) || this.pairs.has(`${b} ${a}`);
  }
}

export class MemoryProfiles implements ProfileStore {
  readonly blobs = new Map<string, string>();
  constructor(private readonly accounts: MemoryAccounts) {}
  async put(userId: string, blob: string): Promise<boolean> {
    if (!this.accounts.byId.has(userId)) return false;
    this.blobs.set(userId, blob);
    return true;
  }
  async get(userId: string): Promise<string | null | undefined> {
    if (!this.accounts.byId.has(userId)) return undefined;
    return this.blobs.get(userId) ?? null;
  }
}

/** Keeps what a service announced (block changes, ended sessions), for tests to read. */
export class RecordingPublisher<Event = BlockEvent> {
  readonly events: Event[] = [];
  publish(event: Event): void {
    this.events.push(event);
  }
}
