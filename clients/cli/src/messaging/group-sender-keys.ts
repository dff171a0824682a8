import { CryptoError, InboundSenderKeys, OutboundSenderKey, fromBase64url, toBase64url, type Primitives } from "@natter/crypto";
import { PAYLOAD_VERSION, decodePayload, encodePayload, type GroupEvent, type InboxMessage, type Payload, type SenderKeyPayload } from "@natter/protocol";
import { CliError } from "../errors.ts";
import type { GroupFile, HomeStore } from "../home-store.ts";
import type { LockedHome } from "../locked-home.ts";
import { planGroupSend } from "../sender-key-plan.ts";
import type { Content, DirectBody } from "./content.ts";
import type { EdgeApi } from "./edge-api.ts";
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
  notice(n: Notice): void;
  /** Sends over the 1:1 session with `user`: how my sender key reaches each member. */
  sendDirect(user: string, body: DirectBody): Promise<unknown>;
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
  constructor(private readonly deps: GroupSenderKeysDeps) {}

  /**
   * Sends `content` to a group: fetches the members, makes a new sender key when the plan
   * says so (planGroupSend), hands my key over the 1:1 sessions to every member who lacks
   * it, then seals the message once with the sender key and publishes it. Retried when
   * another process of this home changed the key meanwhile.
   */
  async send(groupName: string, content: Content): Promise<{ id: string; group: string; groupId: string }> {
    const { home, edge, p } = this.deps;
    const name = parseGroupName(groupName);
    const me = await home.loggedIn();
    const id = this.deps.newId();
    const plaintext = encodePayload({ v: PAYLOAD_VERSION, id, ...content });
    checkPlaintextSize(plaintext);
    for (let attempt = 0; attempt < 3; attempt++) {
      const { group, members } = await edge.members(name);
      const step = await home.withLock(async (locked) => {
        const g = (await locked.group(group.id)) ?? emptyGroup(group);
        const plan = planGroupSend({ hasKey: g.outbound !== undefined, sentTo: g.sentTo, rotate: g.rotate }, members, me.userId);
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

  /** Opens a group copy with the sender's sender key for that group. Call under the lock. */
  async open(home: LockedHome, msg: InboxMessage, ref: { id: string; name: string }): Promise<OpenedGroup | Incoming> {
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
    return { kind: "opened", payload: decodePayload(plaintext) };
  }

  /**
   * A membership change. Anyone leaving or being removed means my next send makes a new
   * sender key; when it is me, the group's keys here go. Call under the lock.
   */
  async event(home: LockedHome, msg: InboxMessage, event: GroupEvent): Promise<Incoming> {
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

function emptyGroup(group: { id: string; name: string }): GroupFile {
  return { v: 1, id: group.id, name: group.name, sentTo: {}, rotate: false, inbound: {} };
}
