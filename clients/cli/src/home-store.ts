// The schemas of every file of the home and the one class that reads and writes them, in one
// file so that the home's layout can be read in one place.
import { randomBytes } from "node:crypto";
import { appendFile, chmod, mkdir, open, readFile, rename, rm, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import lockfile from "proper-lockfile";
import { z } from "zod";
import { parse } from "@natter/protocol";
import { CliError } from "./errors.ts";
import { LockedHome } from "./locked-home.ts";

const Uuid = z.uuid();

/** This home's account: who it is logged in as and the device's private keys. */
export const AccountFile = z.object({
  v: z.literal(1),
  userId: Uuid,
  username: z.string(),
  /** `DeviceIdentity.toJSON()`, validated by `DeviceIdentity.fromJSON`. */
  device: z.unknown(),
  /** The 32-byte key my profile is encrypted under (base64url), shared with contacts inside messages. */
  profileKey: z.string().optional(),
  /**
   * The key the server's key backup is sealed under (32 bytes, base64url, derived from the
   * password), kept so the backup can be sealed again when the keys change without asking
   * for the password. It opens only what this file already holds.
   */
  backupKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/).optional(),
  /** When the signed prekey was made (ms since the epoch): it rotates every 7 days. */
  signedPrekeyAt: z.number().int().nonnegative().optional(),
});
export type AccountFile = z.infer<typeof AccountFile>;

/** The session token pair and the edges it was made with. */
export const SessionFile = z.object({
  v: z.literal(1),
  userId: Uuid,
  token: z.string(),
  refresh: z.string(),
  expiresAt: z.number(),
  servers: z.array(z.string()),
});
export type SessionFile = z.infer<typeof SessionFile>;

/**
 * Someone this home has talked to, pinned at first contact: their user id (the key of the
 * contacts file), username and identity key, each checked on every later use.
 */
export const Contact = z.object({
  username: z.string(),
  identityKey: z.string(),
  firstSeen: z.number(),
  /** The key their profile is encrypted under, from their latest message (base64url). */
  profileKey: z.string().optional(),
  /** When the user recorded comparing safety numbers for this identity key (`verify --mark-verified`). */
  verifiedAt: z.number().optional(),
  /**
   * An identity other than the pinned one, seen for this contact since: a new identity
   * key, or another account id under this name. Sending is refused until the user accepts
   * it (`natter trust`).
   */
  changed: z.object({ userId: Uuid, identityKey: z.string(), seenAt: z.number() }).optional(),
});
export type Contact = z.infer<typeof Contact>;
const ContactsFile = z.object({ v: z.literal(1), contacts: z.record(Uuid, Contact) });

/** Ratchet sessions with one peer, the active one first (`Session.toJSON()` each). */
const PeerFile = z.object({ v: z.literal(1), sessions: z.array(z.unknown()).max(16) });

/**
 * One group as this device keeps it: my sender key, whom my current key went to (user id →
 * the `joinedAt` of their membership then, so leaving and rejoining counts as new), whether
 * a member left or was removed since (then the next send rotates), and each sender's keys.
 */
export const GroupFile = z.object({
  v: z.literal(1),
  id: Uuid,
  name: z.string(),
  /** `OutboundSenderKey.toJSON()`, validated by `OutboundSenderKey.fromJSON`. */
  outbound: z.unknown().optional(),
  sentTo: z.record(Uuid, z.number()),
  rotate: z.boolean(),
  /** `InboundSenderKeys.toJSON()` per sender user id. */
  inbound: z.record(Uuid, z.unknown()),
  /** The group's signed membership entries as verified here, oldest first (checked again when read). */
  chain: z.array(z.string()).max(1_000_000).optional(),
});
export type GroupFile = z.infer<typeof GroupFile>;

/** A file message already decrypted and marked seen, whose download has not finished yet. */
export const PendingFile = z.object({
  id: Uuid,
  from: z.string(),
  fromId: Uuid,
  group: z.string().optional(),
  sentAt: z.number(),
  /** The file payload as sent (id, key, digest, size, mime, name), validated by the payload schema. */
  file: z.unknown(),
});
export type PendingFile = z.infer<typeof PendingFile>;
const PendingFiles = z.object({ v: z.literal(1), files: z.record(Uuid, PendingFile) });

/** The X3DH base keys of sessions this device accepted, oldest first: a first message that repeats one is a replay. */
const BaseKeysFile = z.object({ v: z.literal(1), keys: z.array(z.string().max(64)) });

/** The users I block (user id → username): the server keeps the list too; this copy hides their group messages. */
const BlocksFile = z.object({ v: z.literal(1), users: z.record(Uuid, z.string()) });

const FILES = {
  account: "account.json", session: "session.json", contacts: "contacts.json", seen: "seen.log", lock: "lock", peers: "peers",
  groups: "groups", pending: "pending-files.json", blocks: "blocks.json", baseKeys: "accepted-base-keys.json",
  plainTcpWarned: "plain-tcp-warned",
} as const;
const SEEN_LINE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface HomeStoreOptions {
  /** How many shown message ids to remember (default 10 000). */
  seenLimit?: number;
  /** How long to wait for another process's lock before giving up, in ms (default 20 s). */
  lockWaitMs?: number;
  /** How many base keys of accepted sessions to remember against replayed first messages (default 10 000). */
  acceptedBaseKeyLimit?: number;
}

/**
 * The files of one natter home. The directory is 0700 and every file 0600, replaced
 * atomically (temp file, fsync, rename). Reads need no lock; every read-modify-write runs
 * inside `withLock`, which excludes other processes of the same home (proper-lockfile on
 * the directory) and other callers in this process, so no ratchet update is ever lost.
 */
export class HomeStore {
  private chain: Promise<void> = Promise.resolve();
  private seenCache: { size: number; mtimeMs: number; ids: string[] } | undefined;
  private readonly seenLimit: number;
  private readonly lockWaitMs: number;
  private readonly baseKeyLimit: number;

  private constructor(readonly dir: string, options: HomeStoreOptions) {
    this.seenLimit = options.seenLimit ?? 10_000;
    this.lockWaitMs = options.lockWaitMs ?? 20_000;
    this.baseKeyLimit = options.acceptedBaseKeyLimit ?? 10_000;
  }

  static async open(dir: string, options: HomeStoreOptions = {}): Promise<HomeStore> {
    for (const sub of [FILES.peers, FILES.groups]) await mkdir(join(dir, sub), { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    for (const sub of [FILES.peers, FILES.groups]) await chmod(join(dir, sub), 0o700);
    return new HomeStore(dir, options);
  }

  /**
   * Runs `fn` holding this home's lock (in this process and across processes), with a view
   * of the home that reads each file at most once while the lock is held.
   */
  async withLock<T>(fn: (home: LockedHome) => Promise<T>): Promise<T> {
    const previous = this.chain;
    let done!: () => void;
    this.chain = new Promise((resolve) => (done = resolve));
    await previous;
    try {
      let compromised = false;
      let release: () => Promise<void>;
      try {
        release = await lockfile.lock(this.dir, {
          lockfilePath: join(this.dir, FILES.lock),
          stale: 5_000,
          retries: { retries: Math.ceil(this.lockWaitMs / 50), minTimeout: 5, maxTimeout: 50, factor: 1.3 },
          onCompromised: () => {
            compromised = true;
          },
        });
      } catch (cause) {
        throw new CliError("HOME_LOCKED", undefined, { cause });
      }
      const locked = new LockedHome(this);
      try {
        const result = await fn(locked);
        if (compromised) throw new CliError("HOME_LOCKED");
        return result;
      } finally {
        locked.release();
        await release().catch(() => undefined);
      }
    } finally {
      done();
    }
  }

  readAccount(): Promise<AccountFile | undefined> {
    return this.readJson(FILES.account, AccountFile);
  }

  /** The account, or NOT_LOGGED_IN when this home has none. */
  async loggedIn(): Promise<AccountFile> {
    const account = await this.readAccount();
    if (!account) throw new CliError("NOT_LOGGED_IN");
    return account;
  }

  writeAccount(account: AccountFile): Promise<void> {
    return this.writeJson(FILES.account, account);
  }

  readSession(): Promise<SessionFile | undefined> {
    return this.readJson(FILES.session, SessionFile);
  }

  writeSession(session: SessionFile): Promise<void> {
    return this.writeJson(FILES.session, session);
  }

  async clearSession(): Promise<void> {
    await rm(join(this.dir, FILES.session), { force: true });
  }

  async readContacts(): Promise<Record<string, Contact>> {
    return (await this.readJson(FILES.contacts, ContactsFile))?.contacts ?? {};
  }

  writeContacts(contacts: Record<string, Contact>): Promise<void> {
    return this.writeJson(FILES.contacts, { v: 1, contacts });
  }

  /** The ratchet sessions with a peer, active first (empty when there are none). */
  async readPeerSessions(userId: string): Promise<unknown[]> {
    return (await this.readJson(peerFile(userId), PeerFile))?.sessions ?? [];
  }

  async writePeerSessions(userId: string, sessions: unknown[]): Promise<void> {
    await this.writeJson(peerFile(userId), { v: 1, sessions });
  }

  /** What this device keeps of a group (undefined when nothing yet). */
  async readGroup(groupId: string): Promise<GroupFile | undefined> {
    return this.readJson(groupFile(groupId), GroupFile);
  }

  async writeGroup(group: GroupFile): Promise<void> {
    await this.writeJson(groupFile(group.id), group);
  }

  /** File messages decrypted but not yet downloaded, by message id. */
  async readPendingFiles(): Promise<Record<string, PendingFile>> {
    return (await this.readJson(FILES.pending, PendingFiles))?.files ?? {};
  }

  async writePendingFiles(files: Record<string, PendingFile>): Promise<void> {
    await this.writeJson(FILES.pending, { v: 1, files });
  }

  /** The users I block, user id → username. */
  async readBlocks(): Promise<Record<string, string>> {
    return (await this.readJson(FILES.blocks, BlocksFile))?.users ?? {};
  }

  async writeBlocks(users: Record<string, string>): Promise<void> {
    await this.writeJson(FILES.blocks, { v: 1, users });
  }

  /** Whether a session with this X3DH base key was accepted here before (call under the lock). */
  async hasAcceptedBaseKey(baseKey: string): Promise<boolean> {
    return ((await this.readJson(FILES.baseKeys, BaseKeysFile))?.keys ?? []).includes(baseKey);
  }

  /** Remembers the base key of an accepted session, keeping the newest `acceptedBaseKeyLimit` (call under the lock). */
  async rememberBaseKey(baseKey: string): Promise<void> {
    const keys = (await this.readJson(FILES.baseKeys, BaseKeysFile))?.keys ?? [];
    keys.push(baseKey);
    await this.writeJson(FILES.baseKeys, { v: 1, keys: keys.slice(-this.baseKeyLimit) });
  }

  /** Whether a message id was already shown. */
  async hasSeen(id: string): Promise<boolean> {
    return (await this.seenIds()).includes(id);
  }

  /**
   * Remembers a shown message id. The log is append-only between compactions (an append
   * of one short line under the lock; a torn last line after a crash is ignored when
   * read), and rewritten atomically with the newest `seenLimit` ids once it doubles.
   */
  async markSeen(id: string): Promise<void> {
    if (!SEEN_LINE.test(id)) throw new CliError("BAD_FRAME", "a message id is not a uuid");
    const ids = await this.seenIds();
    ids.push(id);
    const path = join(this.dir, FILES.seen);
    if (ids.length > 2 * this.seenLimit) {
      const kept = ids.slice(-this.seenLimit);
      await writeAtomic(path, kept.map((x) => `${x}\n`).join(""));
      ids.splice(0, ids.length, ...kept);
    } else {
      await appendFile(path, `${id}\n`, { mode: 0o600 });
    }
    const s = await stat(path);
    this.seenCache = { size: s.size, mtimeMs: s.mtimeMs, ids };
  }

  /**
   * True the first time this home is told about plain TCP beyond loopback, false ever after
   * (an empty 0600 marker; another user logging in keeps it: the warning is about the network).
   */
  async firstPlainTcpWarning(): Promise<boolean> {
    try {
      await (await open(join(this.dir, FILES.plainTcpWarned), "wx", 0o600)).close();
      return true;
    } catch (err) {
      if ((err as { code?: unknown }).code === "EEXIST") return false;
      throw err;
    }
  }

  /** Forgets everything of the account that used this home (another user logs in). */
  async resetUser(): Promise<void> {
    for (const name of [FILES.account, FILES.session, FILES.contacts, FILES.seen, FILES.pending, FILES.blocks, FILES.baseKeys]) {
      await rm(join(this.dir, name), { force: true });
    }
    for (const sub of [FILES.peers, FILES.groups]) {
      await rm(join(this.dir, sub), { recursive: true, force: true });
      await mkdir(join(this.dir, sub), { mode: 0o700 });
    }
    this.seenCache = undefined;
  }

  private async seenIds(): Promise<string[]> {
    const path = join(this.dir, FILES.seen);
    let s;
    try {
      s = await stat(path);
    } catch (err) {
      if (isNotFound(err)) return (this.seenCache = { size: 0, mtimeMs: 0, ids: [] }).ids;
      throw err;
    }
    const cached = this.seenCache;
    if (cached && cached.size === s.size && cached.mtimeMs === s.mtimeMs) return cached.ids;
    const ids = (await readFile(path, "utf8")).split("\n").filter((line) => SEEN_LINE.test(line));
    this.seenCache = { size: s.size, mtimeMs: s.mtimeMs, ids };
    return ids;
  }

  private async readJson<S extends z.ZodType>(name: string, schema: S): Promise<z.output<S> | undefined> {
    let text: string;
    try {
      text = await readFile(join(this.dir, name), "utf8");
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (cause) {
      throw new CliError("BAD_HOME", `${name} in the natter home is not valid JSON`, { cause });
    }
    try {
      return parse(schema, value, "INTERNAL");
    } catch (cause) {
      throw new CliError("BAD_HOME", `${name} in the natter home is not understood`, { cause });
    }
  }

  private writeJson(name: string, value: unknown): Promise<void> {
    return writeAtomic(join(this.dir, name), `${JSON.stringify(value)}\n`);
  }
}

function peerFile(userId: string): string {
  // The id becomes a file name: only a canonical uuid may.
  if (!Uuid.safeParse(userId).success) throw new CliError("BAD_FRAME", "a user id is not a uuid");
  return join(FILES.peers, `${userId.toLowerCase()}.json`);
}

function groupFile(groupId: string): string {
  if (!Uuid.safeParse(groupId).success) throw new CliError("BAD_FRAME", "a group id is not a uuid");
  return join(FILES.groups, `${groupId.toLowerCase()}.json`);
}

/** Writes a file so that readers see the old or the new content, never a mix: 0600, fsync, rename. */
export async function writeAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  const handle = await open(tmp, "wx", 0o600);
  try {
    await handle.writeFile(data, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

function isNotFound(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "ENOENT";
}
