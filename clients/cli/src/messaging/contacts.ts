import { fromBase64url, generateProfileKey, toBase64url, type Primitives } from "@natter/crypto";
import type { HomeStore } from "../home-store.ts";
import type { LockedHome } from "../locked-home.ts";
import type { Notice } from "./notice.ts";

export interface ContactsDeps {
  p: Primitives;
  home: HomeStore;
  now(): number;
  notice(n: Notice): void;
}

/**
 * Whom this home knows and the keys it shares with them: each contact's identity key, kept
 * on first use and loudly replaced when it changes; the profile key each contact sent; and
 * my own profile key, which every 1:1 message carries.
 */
export class Contacts {
  constructor(private readonly deps: ContactsDeps) {}

  /** Trust on first use; a different key later is stored and the user warned. */
  async remember(home: LockedHome, userId: string, username: string, identityKey: string): Promise<void> {
    const contacts = await home.contacts();
    const known = contacts[userId];
    if (known && known.identityKey === identityKey && known.username === username) return;
    if (known && known.identityKey !== identityKey) this.deps.notice({ kind: "identity-changed", user: username });
    contacts[userId] = {
      username, identityKey, firstSeen: known?.identityKey === identityKey ? known.firstSeen : this.deps.now(),
      ...(known?.profileKey === undefined ? {} : { profileKey: known.profileKey }),
    };
    await home.writeContacts(contacts);
  }

  /** Keeps the profile key a contact sent (the newest wins). Call after `remember`. */
  async rememberProfileKey(home: LockedHome, userId: string, profileKey: string): Promise<void> {
    const contacts = await home.contacts();
    const known = contacts[userId];
    if (!known || known.profileKey === profileKey) return;
    contacts[userId] = { ...known, profileKey };
    await home.writeContacts(contacts);
  }

  /** The contact of this name, if I know one. */
  async byName(home: LockedHome, name: string): Promise<{ userId: string; username: string } | undefined> {
    for (const [userId, c] of Object.entries(await home.contacts())) if (c.username === name) return { userId, username: c.username };
    return undefined;
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
