import type { GroupEnvelope } from "@natter/protocol";
import type { GroupStore, InboxCopy, InboxPublisher } from "./ports.ts";

/** What became of one group message. */
export type FanoutOutcome =
  | { readonly kind: "delivered"; readonly copies: number }
  | { readonly kind: "refused"; readonly reason: "no such group" | "sender not a member" };

/**
 * Copies group messages into the other members' inboxes, if the sender is a member when
 * the message is handled. Publishing is idempotent per (message, member), so handling a
 * redelivered message again adds no copies.
 */
export class GroupFanout {
  constructor(private readonly deps: { store: Pick<GroupStore, "recipients">; inbox: InboxPublisher }) {}

  async handle(envelope: GroupEnvelope): Promise<FanoutOutcome> {
    const group = await this.deps.store.recipients(envelope.groupId);
    if (!group) return { kind: "refused", reason: "no such group" };
    if (!group.memberIds.includes(envelope.from)) return { kind: "refused", reason: "sender not a member" };
    const copies: InboxCopy[] = group.memberIds
      .filter((id) => id !== envelope.from)
      .map((to) => ({
        to,
        message: {
          v: 1,
          id: envelope.id,
          from: envelope.from,
          fromName: envelope.fromName,
          body: envelope.body,
          sentAt: envelope.sentAt,
          group: { id: envelope.groupId, name: group.name },
        },
      }));
    await this.deps.inbox.publish(copies);
    return { kind: "delivered", copies: copies.length };
  }
}
