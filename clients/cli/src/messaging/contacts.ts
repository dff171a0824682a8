import { fromBase64url, generateProfileKey, toBase64url, type Primitives } from "@natter/crypto";
import { CliError } from "../errors.ts";
import type { Contact, HomeStore } from "../home-store.ts";
import type { LockedHome } from "../locked-home.ts";
import type { Notice } from "./notice.ts";

export interface ContactsDeps {
  p: Primitives;
  home: HomeStore;
  now(): number;
  notice(n: Notice): void;
}

import { trustState, type TrustState } from "./trust-state.ts";

export { TRUST_STATES, trustState, type TrustState } from "./trust-state.ts";

/** What a shown message is flagged with when its sender is not simply the pinned contact. */
export type SenderWarning = "IDENTITY_CHANGED" | "NAME_CLAIMED";

/** A pinned contact as the user sees it. */
export interface ContactView {
  userId: string;
  username: string;
  identityKey: string;
  state: TrustState;
  verifiedAt?: number;
  /** The identity seen since the pin and not accepted yet (state `changed`). */
  changed?: { userId: string; identityKey: string };
}


/** The error that refuses sending to a contact whose identity changed, naming the commands to run. */
export function identityChanged(username: string): CliError {
  return new CliError(
    "IDENTITY_CHANGED",
    `the identity key of ${username} has changed: compare safety numbers with \`natter verify ${username}\`, then accept the new key with \`natter trust ${username}\``,
  );
}

/**
 * Whom this home knows and the keys it shares with them. Each contact is pinned at first
 * contact by user id, username and identity key, and every later use is checked against
 * the pin: another key, or another account under a pinned name, is held as a change the
 * user must accept (`natter trust`) before anything is sent to them. Also the profile key
 * each contact sent, and my own profile key, which every 1:1 message carries.
 */
export class Contacts {
  constructor(private readonly deps: ContactsDeps) {}

  /**
   * Checks an identity seen for `userId` under `username` against the pins (a session
   * started or accepted, or a key looked up): pins it when neither the id nor the name is
   * known; records a change (and tells the user once) when the pinned id has another key,
   * or the pinned name another id. Returns what the user should be warned of, if anything.
   */
  async observe(home: LockedHome, userId: string, username: string, identityKey: string): Promise<SenderWarning | undefined> {
    const contacts = await home.contacts();
    const pinned = contacts[userId];
    const sameName = Object.entries(contacts).find(([id, c]) => c.username === username && id !== userId);
    if (!pinned) {
      if (sameName) return "NAME_CLAIMED";
      contacts[userId] = { username, identityKey, firstSeen: this.deps.now() };
      await home.writeContacts(contacts);
      return undefined;
    }
    if (pinned.username !== username) return "NAME_CLAIMED";
    if (pinned.identityKey === identityKey) return pinned.changed ? "IDENTITY_CHANGED" : undefined;
    if (pinned.changed?.identityKey !== identityKey || pinned.changed.userId !== userId) {
      contacts[userId] = { ...pinned, changed: { userId, identityKey, seenAt: this.deps.now() } };
      await home.writeContacts(contacts);
      this.deps.notice({ kind: "identity-changed", user: username });
    }
    return "IDENTITY_CHANGED";
  }

  /**
   * The pin a session I start with `userId` (claimed under `username`) must match: its
   * identity key, or undefined for someone new. IDENTITY_CHANGED when the contact has a
   * change waiting, or when the name is pinned to another account (recorded as a change).
   */
  async expectedKey(home: LockedHome, userId: string, username: string, identityKey: string): Promise<string | undefined> {
    const contacts = await home.contacts();
    const pinned = contacts[userId];
    if (pinned && (pinned.username !== username || pinned.changed)) throw identityChanged(pinned.username);
    const other = Object.entries(contacts).find(([id, c]) => c.username === username && id !== userId);
    if (other) {
      const [otherId, c] = other;
      if (c.changed?.userId !== userId || c.changed.identityKey !== identityKey) {
        contacts[otherId] = { ...c, changed: { userId, identityKey, seenAt: this.deps.now() } };
        await home.writeContacts(contacts);
      }
      throw identityChanged(username);
    }
    return pinned?.identityKey;
  }

  /** Records that a started session's key differs from the pin (the server handed out another), then refuses. */
  async refuseSubstitute(home: LockedHome, userId: string, identityKey: string): Promise<never> {
    const contacts = await home.contacts();
    const pinned = contacts[userId];
    if (pinned && pinned.changed?.identityKey !== identityKey) {
      contacts[userId] = { ...pinned, changed: { userId, identityKey, seenAt: this.deps.now() } };
      await home.writeContacts(contacts);
    }
    throw identityChanged(pinned?.username ?? "that user");
  }

  /** What a message from `userId` under `username` is shown with, from the pins alone (a group copy carries no identity key). */
  async warningFor(home: LockedHome, userId: string, username: string): Promise<SenderWarning | undefined> {
    const contacts = await home.contacts();
    const pinned = contacts[userId];
    if (!pinned) return Object.values(contacts).some((c) => c.username === username) ? "NAME_CLAIMED" : undefined;
    if (pinned.username !== username) return "NAME_CLAIMED";
    return pinned.changed ? "IDENTITY_CHANGED" : undefined;
  }

  /** Keeps the profile key a contact sent (the newest wins), only from the pinned identity. */
  async rememberProfileKey(home: LockedHome, userId: string, identityKey: string, profileKey: string): Promise<void> {
    const contacts = await home.contacts();
    const known = contacts[userId];
    if (!known || known.identityKey !== identityKey || known.profileKey === profileKey) return;
    contacts[userId] = { ...known, profileKey };
    await home.writeContacts(contacts);
  }

  /** The pinned contact of this name, if I know one. */
  async byName(home: LockedHome, name: string): Promise<ContactView | undefined> {
    return (await this.list(home)).find((c) => c.username === name);
  }

  /** Every pinned contact with its trust state, by name, under a lock already held. */
  async list(home: LockedHome): Promise<ContactView[]> {
    return views(await home.contacts());
  }

  /** Every pinned contact with its trust state, by name (a read: no lock needed). */
  async all(): Promise<ContactView[]> {
    return views(await this.deps.home.readContacts());
  }

  /**
   * Accepts the change waiting for `name`: the new id and key become the pin, unverified.
   * Returns the pin before and after; NOT_A_CONTACT when there is no such contact.
   */
  async accept(home: LockedHome, name: string): Promise<{ before: ContactView; after: ContactView }> {
    const before = await this.byName(home, name);
    if (!before) throw new CliError("NOT_A_CONTACT");
    if (!before.changed) return { before, after: before };
    const contacts = await home.contacts();
    const { userId, identityKey } = before.changed;
    delete contacts[before.userId];
    contacts[userId] = { username: before.username, identityKey, firstSeen: this.deps.now() };
    await home.writeContacts(contacts);
    return { before, after: { userId, username: before.username, identityKey, state: "unverified" } };
  }

  /** Records that the user compared safety numbers with `name`; IDENTITY_CHANGED while a change waits. */
  async markVerified(home: LockedHome, name: string): Promise<void> {
    const contact = await this.byName(home, name);
    if (!contact) throw new CliError("NOT_A_CONTACT");
    if (contact.changed) throw identityChanged(name);
    const contacts = await home.contacts();
    contacts[contact.userId] = { ...contacts[contact.userId]!, verifiedAt: this.deps.now() };
    await home.writeContacts(contacts);
  }

  /** My profile key, made (and kept in the home) the first time it is needed. */
  async profileKey(): Promise<Uint8Array> {
    const stored = (await this.deps.home.loggedIn()).profileKey;
    if (stored !== undefined) return fromBase64url(stored);
    return this.deps.home.withLock((home) => this.myProfileKey(home));
  }

  /** My profile key, under a lock already held. */
  async myProfileKey(home: LockedHome): Promise<Uint8Array> {
    const account = await home.loggedIn();
    if (account.profileKey !== undefined) return fromBase64url(account.profileKey);
    const key = generateProfileKey(this.deps.p);
    await home.writeAccount({ ...account, profileKey: toBase64url(key) });
    return key;
  }
}

function views(contacts: Record<string, Contact>): ContactView[] {
  return Object.entries(contacts)
    .map(([userId, c]) => ({
      userId, username: c.username, identityKey: c.identityKey, state: trustState(c),
      ...(c.verifiedAt === undefined ? {} : { verifiedAt: c.verifiedAt }),
      ...(c.changed ? { changed: { userId: c.changed.userId, identityKey: c.changed.identityKey } } : {}),
    }))
    .sort((a, b) => a.username.localeCompare(b.username));
}
