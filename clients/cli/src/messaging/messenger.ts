import type { Primitives } from "@natter/crypto";
import { FileRef, type InboxMessage, type Payload } from "@natter/protocol";
import type { History } from "../history.ts";
import type { HomeStore } from "../home-store.ts";
import type { LockedHome } from "../locked-home.ts";
import { toCliError } from "../errors.ts";
import type { Content } from "./content.ts";
import { Contacts, type ContactView, type SenderWarning } from "./contacts.ts";
import { DirectSessions, type SafetyNumberView } from "./direct-sessions.ts";
import type { EdgeApi, GroupChangeOp } from "./edge-api.ts";
import type { GroupChanged, VerifiedGroup } from "./group-chains.ts";
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
  /** Where what I send is kept (the commands give the home's history; tests of the core may not). */
  history?: History;
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
    this.groups = new GroupSenderKeys({
      ...deps,
      sendDirect: (user, body) => this.direct.send(user, body),
      vouched: (home, m) => this.contacts.observe(home, m.userId, m.username, m.identityKey),
    });
  }

  /** Encrypts `text` for `user`, stores the advanced session and sends it; returns the message id. */
  send(user: string, text: string): Promise<{ id: string; to: string; userId: string }> {
    return this.sendPayload(user, { type: "text", text, sentAt: this.deps.now() });
  }

  /**
   * Sends a text or a file to `user` over the 1:1 session (starting one if needed) and keeps
   * it in history (a file with `localPath`, where it was sent from).
   */
  async sendPayload(user: string, body: Content, localPath?: string): Promise<{ id: string; to: string; userId: string }> {
    const sent = await this.direct.send(user, body);
    await this.keepSent(sent.id, sent.to, body, localPath, sent.userId);
    return sent;
  }

  /** Sends `content` to a group, sealed once with my sender key, and keeps it in history. */
  async sendGroup(groupName: string, content: Content, localPath?: string): Promise<{ id: string; group: string; groupId: string }> {
    const sent = await this.groups.send(groupName, content);
    await this.keepSent(sent.id, `#${sent.group}`, content, localPath);
    return sent;
  }

  /** Sends a receipt for messages of `user` (never kept in history, never itself receipted). */
  async sendReceipt(user: string, receipt: "delivered" | "read", of: string[]): Promise<void> {
    await this.direct.send(user, { type: "receipt", receipt, of, sentAt: this.deps.now() });
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

  /** Changes a group by a signed entry on its verified chain (create, join, add, remove, leave, admin, close). */
  changeGroup(op: GroupChangeOp, name: string, args: { user?: string; members?: string[] } = {}): Promise<GroupChanged> {
    return this.groups.change(op, name, args);
  }

  /** A group's members by its verified chain (warning of any the server lists otherwise). */
  groupMembers(name: string): Promise<VerifiedGroup> {
    return this.groups.members(name);
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

  /** Keeps what was sent in history; it was sent all the same, so a failure here is told, not thrown. */
  private async keepSent(id: string, conversation: string, content: Content, localPath: string | undefined, peerId?: string): Promise<void> {
    const history = this.deps.history;
    if (!history) return;
    try {
      const me = (await this.deps.home.readAccount())?.username ?? "";
      const base = { id, conversation, direction: "out", from: me, sentAt: content.sentAt } as const;
      if (content.type === "text") history.record({ ...base, type: "text", text: content.text }, peerId);
      else history.record({ ...base, type: "file", text: content.file.name, file: { size: content.file.size, mime: content.file.mime, path: localPath ?? "" } }, peerId);
    } catch (err) {
      this.deps.notice({ kind: "not-kept", id, reason: toCliError(err).message });
    }
  }

  /** A 1:1 message; a sender key in it is taken, a receipt handed on, neither shown. */
  private async receiveDirect(home: LockedHome, msg: InboxMessage): Promise<Incoming> {
    const opened = await this.direct.open(home, msg);
    if (opened.kind !== "opened") return opened;
    if (opened.payload?.type === "sender-key") {
      await this.groups.takeSenderKey(home, msg, opened.payload);
      await home.markSeen(msg.id);
      return { kind: "dropped", newSession: opened.newSession };
    }
    if (opened.payload?.type === "receipt") {
      await home.markSeen(msg.id);
      if (opened.payload.id !== msg.id) await home.markSeen(opened.payload.id);
      // A receipt from someone blocked, or not simply the pinned contact, counts for nothing.
      if (msg.from in (await home.blocks()) || opened.warning !== undefined) return { kind: "dropped", newSession: opened.newSession };
      const { receipt, of } = opened.payload;
      return { kind: "receipt", receipt: { from: msg.fromName, fromId: msg.from, receipt, of }, newSession: opened.newSession };
    }
    return this.shown(home, msg, opened.payload, opened.newSession, opened.warning);
  }

  /** A group copy; a sender key has no business inside one. */
  private async receiveGroup(home: LockedHome, msg: InboxMessage, ref: { id: string; name: string }): Promise<Incoming> {
    const opened = await this.groups.open(home, msg, ref);
    if (opened.kind !== "opened") return opened;
    const warning = await this.contacts.warningFor(home, msg.from, msg.fromName);
    // Sender keys and receipts travel 1:1 only: inside a group message they are not understood.
    const payload = opened.payload?.type === "sender-key" || opened.payload?.type === "receipt" ? undefined : opened.payload;
    return this.shown(home, msg, payload, false, warning, ref.name);
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
    if (!payload || payload.type === "sender-key" || payload.type === "receipt") {
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
    const message: ShownMessage = { id: msg.id, ...(payload.id === msg.id ? {} : { sentId: payload.id }), from, fromId: msg.from, ...(warning ? { warning } : {}), ...(group ? { group } : {}), sentAt: payload.sentAt, content };
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
