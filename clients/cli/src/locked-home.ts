import { assert } from "@natter/protocol";
import { CliError } from "./errors.ts";
import type { AccountFile, Contact, GroupFile, HomeStore, PendingFile } from "./home-store.ts";

/**
 * The home as one locked operation sees it, handed to the code inside `HomeStore.withLock`.
 * Each file is read from disk at most once: a later read of the same file in the same
 * operation gets what was read or written before. A write goes to disk at once, as
 * `HomeStore` writes it. Nothing can change a file under us meanwhile, since every writer
 * holds the lock. Usable only until the lock is released.
 */
export class LockedHome {
  private held = true;
  private readonly accountFile: Cached<AccountFile | undefined>;
  private readonly contactsFile: Cached<Record<string, Contact>>;
  private readonly pendingFile: Cached<Record<string, PendingFile>>;
  private readonly blocksFile: Cached<Record<string, string>>;
  private readonly peerFiles = new Map<string, Cached<unknown[]>>();
  private readonly groupFiles = new Map<string, Cached<GroupFile | undefined>>();

  constructor(private readonly store: HomeStore) {
    this.accountFile = new Cached(() => store.readAccount());
    this.contactsFile = new Cached(() => store.readContacts());
    this.pendingFile = new Cached(() => store.readPendingFiles());
    this.blocksFile = new Cached(() => store.readBlocks());
  }

  /** Ends this view: the lock is about to be released. */
  release(): void {
    this.held = false;
  }

  account(): Promise<AccountFile | undefined> {
    return this.use(this.accountFile).get();
  }

  /** The account, or NOT_LOGGED_IN when this home has none. */
  async loggedIn(): Promise<AccountFile> {
    const account = await this.account();
    if (!account) throw new CliError("NOT_LOGGED_IN");
    return account;
  }

  writeAccount(account: AccountFile): Promise<void> {
    return this.use(this.accountFile).set(account, () => this.store.writeAccount(account));
  }

  contacts(): Promise<Record<string, Contact>> {
    return this.use(this.contactsFile).get();
  }

  writeContacts(contacts: Record<string, Contact>): Promise<void> {
    return this.use(this.contactsFile).set(contacts, () => this.store.writeContacts(contacts));
  }

  /** The ratchet sessions with a peer, active first (`Session.toJSON()` each). */
  peerSessions(userId: string): Promise<unknown[]> {
    return this.peer(userId).get();
  }

  writePeerSessions(userId: string, sessions: unknown[]): Promise<void> {
    return this.peer(userId).set(sessions, () => this.store.writePeerSessions(userId, sessions));
  }

  group(groupId: string): Promise<GroupFile | undefined> {
    return this.groupCache(groupId).get();
  }

  writeGroup(group: GroupFile): Promise<void> {
    return this.groupCache(group.id).set(group, () => this.store.writeGroup(group));
  }

  /** File messages decrypted but not yet downloaded, by message id. */
  pendingFiles(): Promise<Record<string, PendingFile>> {
    return this.use(this.pendingFile).get();
  }

  writePendingFiles(files: Record<string, PendingFile>): Promise<void> {
    return this.use(this.pendingFile).set(files, () => this.store.writePendingFiles(files));
  }

  /** The users I block, user id → username. */
  blocks(): Promise<Record<string, string>> {
    return this.use(this.blocksFile).get();
  }

  /** Whether a message id was already shown (the store keeps the log's ids between reads). */
  hasSeen(id: string): Promise<boolean> {
    this.checkHeld();
    return this.store.hasSeen(id);
  }

  markSeen(id: string): Promise<void> {
    this.checkHeld();
    return this.store.markSeen(id);
  }

  private peer(userId: string): Cached<unknown[]> {
    // File names are lower-case ids (HomeStore), so one peer is one entry whatever the case.
    const key = userId.toLowerCase();
    let cached = this.peerFiles.get(key);
    if (!cached) this.peerFiles.set(key, (cached = new Cached(() => this.store.readPeerSessions(userId))));
    return this.use(cached);
  }

  private groupCache(groupId: string): Cached<GroupFile | undefined> {
    const key = groupId.toLowerCase();
    let cached = this.groupFiles.get(key);
    if (!cached) this.groupFiles.set(key, (cached = new Cached(() => this.store.readGroup(groupId))));
    return this.use(cached);
  }

  private use<T>(cached: T): T {
    this.checkHeld();
    return cached;
  }

  private checkHeld(): void {
    assert(this.held, "the home is used after its lock was released");
  }
}

/** One file's content as this operation last read or wrote it. */
class Cached<T> {
  private content: Promise<T> | undefined;

  constructor(private readonly read: () => Promise<T>) {}

  /** A copy, so a caller changing it changes nothing until it writes. */
  async get(): Promise<T> {
    this.content ??= this.read();
    return structuredClone(await this.content);
  }

  async set(value: T, write: () => Promise<void>): Promise<void> {
    await write();
    this.content = Promise.resolve(structuredClone(value));
  }
}
