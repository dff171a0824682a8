import { CryptoError, InboundSenderKeys, OutboundSenderKey, fromBase64url, headRelation, toBase64url, type ChainOp, type Primitives } from "@natter/crypto";
import { PAYLOAD_VERSION, decodePayload, encodePayload, type GroupEvent, type InboxMessage, type Payload, type SenderKeyPayload } from "@natter/protocol";
import { CliError } from "../errors.ts";
import type { GroupFile, HomeStore } from "../home-store.ts";
import type { LockedHome } from "../locked-home.ts";
import { planGroupSend } from "../sender-key-plan.ts";
import type { Content, DirectBody } from "./content.ts";
import type { EdgeApi, GroupChangeOp } from "./edge-api.ts";
import { GroupChains, isVerifiedMember, type GroupChanged, type VerifiedGroup } from "./group-chains.ts";
import type { Incoming } from "./incoming.ts";
import { parseGroupName } from "./names.ts";
import type { Notice } from "./notice.ts";
import { checkPlaintextSize } from "./plaintext-size.ts";

export interface GroupSenderKeysDeps {
  p: Primitives;
  home: HomeStore;
  edge: EdgeApi;
  /** A fresh message id (uuid v7). */
  newId(): string;
  now(): number;
  notice(n: Notice): void;
  /** Sends over the 1:1 session with `user`: how my sender key reaches each member. */
  sendDirect(user: string, body: DirectBody): Promise<unknown>;
  /**
   * A member as the group's chain vouches for them (the key an admin signed for): pinned
   * when nobody of that id or name is, so the 1:1 session my key goes over must be with
   * that key, whatever bundle the server hands out. Call under the lock.
   */
  vouched(home: LockedHome, member: { userId: string; username: string; identityKey: string }): Promise<unknown>;
}

/** A group copy that opened with its sender's key: its payload (undefined when this version cannot read it). */
export interface OpenedGroup {
  kind: "opened";
  payload: Payload | undefined;
}

/**
 * Group messaging with sender keys: a group message is sealed once with my sender key,
 * which reaches each member over our 1:1 session and is replaced whenever someone leaves
 * or is removed; what members send is opened with the keys they handed me.
 */
export class GroupSenderKeys {
  private readonly chains: GroupChains;

  constructor(private readonly deps: GroupSenderKeysDeps) {
    this.chains = new GroupChains(deps);
  }

  /** Changes a group by a signed entry (create, join, add, remove, leave, admin, close). */
  change(op: GroupChangeOp, name: string, args: { user?: string; members?: string[] } = {}): Promise<GroupChanged> {
    return this.chains.change(op, name, args);
  }

  /** The group's members as its verified chain makes them; warns of any the server lists otherwise. */
  async members(name: string): Promise<VerifiedGroup> {
    const verified = await this.chains.sync(name);
    await this.chains.checkMembers(verified);
    return verified;
  }

  /**
   * Sends `content` to a group: brings its verified chain up to date (warning of members
   * the server lists otherwise), makes a new sender key when the plan says so
   * (planGroupSend), hands my key over the 1:1 sessions to every verified member who lacks
   * it — and to nobody else — then seals the message once with the sender key and
   * publishes it. Retried when another process of this home changed the key meanwhile.
   */
  async send(groupName: string, content: Content): Promise<{ id: string; group: string; groupId: string }> {
    const { home, edge, p } = this.deps;
    const name = parseGroupName(groupName);
    const me = await home.loggedIn();
    const id = this.deps.newId();
    checkPlaintextSize(encodePayload({ v: PAYLOAD_VERSION, id, ...content, chain: { seq: 0, hash: "A".repeat(43) } }));
    for (let attempt = 0; attempt < 3; attempt++) {
      const verified = await this.members(name);
      // My head goes inside: a member whose chain has another entry there sees the fork.
      const plaintext = encodePayload({ v: PAYLOAD_VERSION, id, ...content, chain: { seq: verified.state.seq, hash: verified.state.head } });
      const group = { id: verified.id, name: verified.name };
      if (!isVerifiedMember(verified, me.userId)) throw new CliError("NOT_A_MEMBER");
      const members = verified.state.members.map((m) => ({ userId: m.userId, username: m.username, identityKey: m.identityKey, joinedAt: m.since }));
      const step = await home.withLock(async (locked) => {
        const g = (await locked.group(group.id)) ?? emptyGroup(group);
        const plan = planGroupSend({ hasKey: g.outbound !== undefined, sentTo: g.sentTo, rotate: g.rotate }, members, me.userId);
        for (const m of members) if (plan.distributeTo.includes(m.userId)) await this.deps.vouched(locked, m);
        let key = g.outbound === undefined ? undefined : OutboundSenderKey.fromJSON(p, g.outbound);
        if (plan.newKey || !key) {
          key = key ? await key.rotate() : await OutboundSenderKey.create(p, group.id);
          Object.assign(g, { outbound: key.toJSON(), sentTo: {}, rotate: false });
        }
        await locked.writeGroup({ ...g, name: group.name });
        return { keyId: key.keyId, distribution: toBase64url(key.distribution()), to: plan.distributeTo };
      });
      const reached: Record<string, number> = {};
      for (const userId of step.to) {
        const member = members.find((m) => m.userId === userId)!;
        await this.deps.sendDirect(member.username, { type: "sender-key", group: { id: group.id, name: group.name }, distribution: step.distribution });
        reached[userId] = member.joinedAt;
      }
      const msg = await home.withLock(async (locked) => {
        const g = await locked.group(group.id);
        const key = g?.outbound === undefined ? undefined : OutboundSenderKey.fromJSON(p, g.outbound);
        if (!g || !key || key.keyId !== step.keyId) return undefined; // rotated meanwhile: start over
        const body = await key.encrypt(plaintext);
        await locked.writeGroup({ ...g, outbound: key.toJSON(), sentTo: { ...g.sentTo, ...reached } });
        return { id, group: group.id, body };
      });
      if (!msg) continue;
      await edge.gsend(msg);
      return { id: msg.id, group: group.name, groupId: group.id };
    }
    throw new CliError("HOME_LOCKED");
  }

  /**
   * Opens a group copy with the sender's sender key for that group, if its sender is a
   * member by the verified chain (brought up to date when not); else it is dropped with a
   * notice. Call under the lock.
   */
  async open(home: LockedHome, msg: InboxMessage, ref: { id: string; name: string }): Promise<OpenedGroup | Incoming> {
    if (!(await this.isMember(home, ref, msg.from))) {
      await home.markSeen(msg.id);
      this.deps.notice({ kind: "group-warning", group: ref.name, text: `dropped a message in #${ref.name} from ${msg.fromName}, who is not a member by its signed changes` });
      return { kind: "dropped", newSession: false };
    }
    const g = await home.group(ref.id);
    const stored = g?.inbound[msg.from];
    let plaintext: Uint8Array | undefined;
    if (g && stored !== undefined) {
      const keys = InboundSenderKeys.fromJSON(this.deps.p, stored);
      try {
        plaintext = await keys.decrypt(msg.body);
        await home.writeGroup({ ...g, inbound: { ...g.inbound, [msg.from]: keys.toJSON() } });
      } catch (err) {
        if (!(err instanceof CryptoError)) throw err;
        if (err.code === "DUPLICATE_MESSAGE") {
          await home.markSeen(msg.id);
          return { kind: "duplicate" };
        }
      }
    }
    if (plaintext === undefined) {
      await home.markSeen(msg.id);
      this.deps.notice({ kind: "undecryptable", user: msg.fromName, id: msg.id, group: ref.name });
      return { kind: "dropped", newSession: false };
    }
    const payload = decodePayload(plaintext);
    if (payload && (payload.type === "text" || payload.type === "file") && payload.chain) await this.compareHeads(home, ref, msg.fromName, payload.chain);
    return { kind: "opened", payload };
  }

  /** Warns when the head a member's message names is not on my chain (fetching first when theirs is later). */
  private async compareHeads(home: LockedHome, ref: { id: string; name: string }, from: string, theirs: { seq: number; hash: string }): Promise<void> {
    let mine = await this.chains.local(home, ref.id);
    const relation = (v: typeof mine) => (v ? headRelation(v.hashes, { seq: theirs.seq, head: theirs.hash }).kind : "ahead");
    if (relation(mine) === "ahead") mine = await this.chains.trySync(home, ref);
    if (mine && relation(mine) === "fork") {
      this.deps.notice({
        kind: "group-warning", group: ref.name,
        text: `${from} sees another history of #${ref.name} at change ${theirs.seq} than this device: the server may be showing members different histories`,
      });
    }
  }

  /** Whether `userId` is a member of the group by my verified chain, brought up to date first when they are not. */
  private async isMember(home: LockedHome, ref: { id: string; name: string }, userId: string): Promise<boolean> {
    const local = await this.chains.local(home, ref.id);
    if (isVerifiedMember(local, userId)) return true;
    const synced = await this.chains.trySync(home, ref);
    return isVerifiedMember(synced, userId);
  }

  /**
   * Whether a membership event the server sent matches the verified chain. A departure
   * is taken as said (it only makes my next send rotate, and the one who left cannot
   * read the chain any more); an arrival, a new admin or closing must be signed.
   */
  private async eventIsSigned(home: LockedHome, event: GroupEvent): Promise<boolean> {
    if (event.kind === "left" || event.kind === "removed") return true;
    const v = await this.chains.trySync(home, event.group);
    if (!v) return false;
    const who = event.user.id;
    // A change that came late is still signed: look for its entry, not only at the state now.
    const changes = await this.chains.changes(home, v);
    const some = (test: (c: { by: string; op: ChainOp }) => boolean) => changes.some(test);
    switch (event.kind) {
      case "created":
        return some(({ by, op }) => op.type === "genesis" && by === who);
      case "joined":
        return some(({ op }) => op.type === "join" && op.member.userId === who);
      case "added":
        return some(({ op }) => op.type === "add" && op.member.userId === who);
      case "admin":
        // Promoted by an admin, or the longest-standing member when the last admin left.
        return some(({ op }) => op.type === "promote" && op.userId === who) || v.state.members.some((m) => m.userId === who && m.admin);
      case "closed":
        return some(({ op }) => op.type === "close");
    }
  }

  /**
   * A membership change. Anyone leaving or being removed means my next send makes a new
   * sender key; when it is me, the group's keys here go. Call under the lock.
   */
  async event(home: LockedHome, msg: InboxMessage, event: GroupEvent): Promise<Incoming> {
    if (!(await this.eventIsSigned(home, event))) {
      await home.markSeen(msg.id);
      this.deps.notice({
        kind: "group-warning", group: event.group.name,
        text: `the server says ${event.user.name} ${EVENT_WORDS[event.kind]} #${event.group.name}, but no signed change says so — ignored`,
      });
      return { kind: "dropped", newSession: false };
    }
    if (event.kind === "left" || event.kind === "removed") {
      const me = await home.loggedIn();
      const g = (await home.group(event.group.id)) ?? emptyGroup(event.group);
      const mine = event.user.id === me.userId;
      await home.writeGroup(mine ? { ...emptyGroup(event.group), rotate: true } : { ...g, rotate: true });
    }
    await home.markSeen(msg.id);
    return {
      kind: "event",
      event: {
        id: msg.id, group: event.group.name, groupId: event.group.id, event: event.kind, user: event.user.name,
        ...(event.by ? { by: event.by.name } : {}), sentAt: msg.sentAt,
      },
    };
  }

  /** Stores a member's sender key from a distribution sent to me over our 1:1 session. Call under the lock. */
  async takeSenderKey(home: LockedHome, msg: InboxMessage, payload: SenderKeyPayload): Promise<void> {
    const { p } = this.deps;
    const g = (await home.group(payload.group.id)) ?? emptyGroup(payload.group);
    try {
      const distribution = fromBase64url(payload.distribution);
      const stored = g.inbound[msg.from];
      let keys: InboundSenderKeys;
      if (stored === undefined) {
        keys = await InboundSenderKeys.fromDistribution(p, distribution);
        if (keys.groupId !== payload.group.id) throw new CryptoError("MALFORMED");
      } else {
        keys = InboundSenderKeys.fromJSON(p, stored);
        await keys.add(distribution);
      }
      await home.writeGroup({ ...g, inbound: { ...g.inbound, [msg.from]: keys.toJSON() } });
    } catch (err) {
      if (!(err instanceof CryptoError)) throw err;
      this.deps.notice({ kind: "unsupported", user: msg.fromName, id: msg.id });
    }
  }

  /**
   * After I removed someone or left: my next send in the group makes a new sender key
   * (and leaving forgets the group's keys here).
   */
  async membershipChanged(group: { id: string; name: string }, kind: "removed" | "left"): Promise<void> {
    await this.deps.home.withLock(async (locked) => {
      const g = (await locked.group(group.id)) ?? emptyGroup(group);
      await locked.writeGroup(kind === "left" ? { ...emptyGroup(group), rotate: true } : { ...g, rotate: true });
    });
  }
}

const EVENT_WORDS: Record<GroupEvent["kind"], string> = {
  created: "created", joined: "joined", added: "was added to", removed: "was removed from", left: "left", admin: "is an admin of", closed: "closed",
};

function emptyGroup(group: { id: string; name: string }): GroupFile {
  return { v: 1, id: group.id, name: group.name, sentTo: {}, rotate: false, inbound: {} };
}
