import type { Primitives } from "@natter/crypto";
import { FileRef, type InboxMessage, type Payload } from "@natter/protocol";
import type { HomeStore } from "../home-store.ts";
import type { LockedHome } from "../locked-home.ts";
import type { Content, DirectBody } from "./content.ts";
import { Contacts, type ContactView, type SenderWarning } from "./contacts.ts";
import { DirectSessions, type SafetyNumberView } from "./direct-sessions.ts";
import type { EdgeApi } from "./edge-api.ts";
import { GroupSenderKeys } from "./group-sender-keys.ts";
import type { Incoming, ShownMessage } from "./incoming.ts";
import type { Notice } from "./notice.ts";

export interface MessengerDeps {
  p: Primitives;
  home: HomeStore;
  edge: EdgeApi;
  now(): number;
  /** A fresh message id (uuid v7). */
  newId(): string;
  notice(n: Notice): void;
  /** How old the signed prekey may get before it is replaced (default 7 days). */
  signedPrekeyMaxAgeMs?: number;
}

/**
 * The messaging core the commands use: sends 1:1 (DirectSessions) and to groups
 * (GroupSenderKeys), and takes each delivery apart under the home lock — shown before,
 * a membership event, a group copy or a 1:1 message — then decides what is shown. Every
 * read-modify-write of home state runs under the home lock, so processes sharing a home
 * never lose each other's ratchet steps.
 */
export class Messenger {
  private readonly contacts: Contacts;
  private readonly direct: DirectSessions;
  private readonly groups: GroupSenderKeys;

  constructor(private readonly deps: MessengerDeps) {
    this.contacts = new Contacts(deps);
    this.direct = new DirectSessions({ ...deps, contacts: this.contacts });
    this.groups = new GroupSenderKeys({ ...deps, sendDirect: (user, body) => this.direct.send(user, body) });
  }

  /** Encrypts `text` for `user`, stores the advanced session and sends it; returns the message id. */
  send(user: string, text: string): Promise<{ id: string; to: string; userId: string }> {
    return this.sendPayload(user, { type: "text", text, sentAt: this.deps.now() });
  }

  /** Sends a text, a file or a sender key to `user` over the 1:1 session (starting one if needed). */
  sendPayload(user: string, body: DirectBody): Promise<{ id: string; to: string; userId: string }> {
    return this.direct.send(user, body);
  }

  /** Sends `content` to a group, sealed once with my sender key. */
  sendGroup(groupName: string, content: Content): Promise<{ id: string; group: string; groupId: string }> {
    return this.groups.send(groupName, content);
  }

  /**
   * Decrypts one delivery and stores what changed (sessions, device, contact, shown id).
   * The caller shows a `message`, then acks; `duplicate` and `dropped` are acked unshown
   * (a message that does not decrypt now never will). Errors of the home are thrown, so
   * the delivery is not acked and comes again.
   */
  async receive(msg: InboxMessage): Promise<Incoming> {
    return this.deps.home.withLock(async (home): Promise<Incoming> => {
      if (await home.hasSeen(msg.id)) {
        // A file whose download did not finish is handed out again until it does.
        const pending = (await home.pendingFiles())[msg.id];
        const file = pending && FileRef.safeParse(pending.file);
        if (pending && file?.success) {
          const { id, from, fromId, group, sentAt } = pending;
          return { kind: "message", newSession: false, message: { id, from, fromId, ...(group ? { group } : {}), sentAt, content: { type: "file", file: file.data, sentAt } } };
        }
        return { kind: "duplicate" };
      }
      if (msg.event) return this.groups.event(home, msg, msg.event);
      if (msg.group) return this.receiveGroup(home, msg, msg.group);
      return this.receiveDirect(home, msg);
    });
  }

  /**
   * After I removed someone or left: my next send in the group makes a new sender key
   * (and leaving forgets the group's keys here).
   */
  membershipChanged(group: { id: string; name: string }, kind: "removed" | "left"): Promise<void> {
    return this.groups.membershipChanged(group, kind);
  }

  /** Tells the user something through the messenger's notice channel. */
  notify(n: Notice): void {
    this.deps.notice(n);
  }

  /** Forgets a file message once its download has finished or can never finish. */
  async settleFile(id: string): Promise<void> {
    await this.deps.home.withLock(async (home) => {
      const pending = await home.pendingFiles();
      if (!(id in pending)) return;
      delete pending[id];
      await home.writePendingFiles(pending);
    });
  }

  /** Tops up my one-time prekeys on the server when they run low. */
  refillPrekeys(): Promise<number | undefined> {
    return this.direct.refillPrekeys();
  }

  /** The safety number with `user` from the pinned key (and the new one, when a change waits), checked against the server's. */
  safetyNumber(user: string): Promise<SafetyNumberView> {
    return this.direct.safetyNumber(user);
  }

  /** Accepts the identity key seen for `user` since the pin (`natter trust`); the safety numbers before and after. */
  trust(user: string): Promise<{ user: string; userId: string; changed: boolean; before: string; after: string }> {
    return this.direct.trust(user);
  }

  /** Records that the safety numbers with `user` were compared (`natter verify --mark-verified`). */
  markVerified(user: string): Promise<void> {
    return this.direct.markVerified(user);
  }

  /** Every pinned contact with its trust state (unverified, verified, changed). */
  contactStates(): Promise<ContactView[]> {
    return this.contacts.all();
  }

  /** My profile key, made (and kept in the home) the first time it is needed. */
  profileKey(): Promise<Uint8Array> {
    return this.contacts.profileKey();
  }

  /** A 1:1 message; a sender key in it is taken, never shown. */
  private async receiveDirect(home: LockedHome, msg: InboxMessage): Promise<Incoming> {
    const opened = await this.direct.open(home, msg);
    if (opened.kind !== "opened") return opened;
    if (opened.payload?.type === "sender-key") {
      await this.groups.takeSenderKey(home, msg, opened.payload);
      await home.markSeen(msg.id);
      return { kind: "dropped", newSession: opened.newSession };
    }
    return this.shown(home, msg, opened.payload, opened.newSession, opened.warning);
  }

  /** A group copy; a sender key has no business inside one. */
  private async receiveGroup(home: LockedHome, msg: InboxMessage, ref: { id: string; name: string }): Promise<Incoming> {
    const opened = await this.groups.open(home, msg, ref);
    if (opened.kind !== "opened") return opened;
    const warning = await this.contacts.warningFor(home, msg.from, msg.fromName);
    return this.shown(home, msg, opened.payload?.type === "sender-key" ? undefined : opened.payload, false, warning, ref.name);
  }

  /**
   * A decrypted text or file, marked seen. A file is also kept as pending until its
   * download settles, so a delivery that comes again before then is handed out again.
   */
  private async shown(
    home: LockedHome, msg: InboxMessage, payload: Payload | undefined, newSession: boolean, warning: SenderWarning | undefined, group?: string,
  ): Promise<Incoming> {
    if (msg.from in (await home.blocks())) {
      // Blocked: opened (so the sessions stay in step) but never shown, and acked.
      await home.markSeen(msg.id);
      return { kind: "dropped", newSession };
    }
    if (!payload || payload.type === "sender-key") {
      await home.markSeen(msg.id);
      this.deps.notice({ kind: "unsupported", user: msg.fromName, id: msg.id });
      return { kind: "dropped", newSession };
    }
    if (payload.id !== msg.id && (await home.hasSeen(payload.id))) {
      // Shown before under the id sealed inside it; the server delivered it again under another.
      await home.markSeen(msg.id);
      return { kind: "duplicate" };
    }
    const { v: _v, id: _id, profileKey: _profileKey, ...content } = payload;
    // A known name from an unknown id is never shown as the known person.
    const from = warning === "NAME_CLAIMED" ? `${msg.fromName} [${msg.from}]` : msg.fromName;
    const message: ShownMessage = { id: msg.id, from, fromId: msg.from, ...(warning ? { warning } : {}), ...(group ? { group } : {}), sentAt: payload.sentAt, content };
    if (payload.type === "file") {
      const pending = await home.pendingFiles();
      pending[msg.id] = { id: msg.id, from, fromId: msg.from, ...(group ? { group } : {}), sentAt: payload.sentAt, file: payload.file };
      await home.writePendingFiles(pending);
    }
    await home.markSeen(msg.id);
    if (payload.id !== msg.id) await home.markSeen(payload.id);
    return { kind: "message", newSession, message };
  }
}
