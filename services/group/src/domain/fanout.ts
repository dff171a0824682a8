import type { GroupEnvelope } from "@natter/protocol";
import type { GroupStore, InboxPublisher } from "./ports.ts";

/** What became of one group message. */
export type FanoutOutcome =
  | { readonly kind: "delivered"; readonly copies: number; readonly full: readonly string[] }
  | { readonly kind: "refused"; readonly reason: "no such group" | "sender not a member" };

/**
 * Copies group messages into the other members' inboxes, if the sender is a member when
 * the message is handled. Every member's copy is the same message (it names the group,
 * not the recipient), so it is handed over once for all of them. Publishing is idempotent
 * per (message, member), so handling a redelivered message again adds no copies.
 *
 * A member whose inbox is full (INBOX_FULL: someone is flooding them, or they have been
 * away for a very long time) gets no copy of this message, and the message counts as
 * handled: waiting for their inbox would hold back every later message of the group and
 * retrying would repeat the others' copies' work forever. Nothing already stored is
 * lost; the outcome names the members skipped, so the consumer can report them.
 */
export class GroupFanout {
  constructor(private readonly deps: { store: Pick<GroupStore, "recipients">; inbox: InboxPublisher }) {}

  async handle(envelope: GroupEnvelope): Promise<FanoutOutcome> {
    return (await this.start(envelope)).outcome;
  }

  /**
   * Looks up the members and hands every copy to the inbox, resolving once the copies are
   * on their way (not yet stored), with the outcome to come. Messages started one after
   * another reach the inbox in that order, so a caller may start the next message of a
   * group before the last one's copies are acknowledged and still keep the group's order.
   */
  async start(envelope: GroupEnvelope): Promise<{ readonly outcome: Promise<FanoutOutcome> }> {
    const group = await this.deps.store.recipients(envelope.groupId);
    if (!group) return settled({ kind: "refused", reason: "no such group" });
    if (!group.memberIds.includes(envelope.from)) return settled({ kind: "refused", reason: "sender not a member" });
    const recipients = group.memberIds.filter((id) => id !== envelope.from);
    const stored = this.deps.inbox.publish({
      v: 1,
      id: envelope.id,
      from: envelope.from,
      fromName: envelope.fromName,
      body: envelope.body,
      sentAt: envelope.sentAt,
      group: { id: envelope.groupId, name: group.name },
    }, recipients);
    return { outcome: stored.then(({ full }) => ({ kind: "delivered", copies: recipients.length - full.length, full })) };
  }
}

function settled(outcome: FanoutOutcome): { outcome: Promise<FanoutOutcome> } {
  return { outcome: Promise.resolve(outcome) };
}
