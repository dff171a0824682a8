import type { GroupEvent } from "@natter/protocol";
import type { SenderWarning } from "./contacts.ts";
import type { Content } from "./content.ts";

/** A message ready to show (a file once it is downloaded). */
export interface ShownMessage {
  id: string;
  /** The id its sender gave it, sealed inside (the one history and receipts name), when the delivery carries another. */
  sentId?: string;
  /** Who sent it: the contact's name, or the claimed name with the sender's id when that name is pinned to someone else. */
  from: string;
  fromId: string;
  /** Shown beside it when its sender is not simply the pinned contact: a new identity key, or a known name from an unknown id. */
  warning?: SenderWarning;
  /** The group's name, for a group message. */
  group?: string;
  sentAt: number;
  content: Content;
}

/** A change of a group's membership, as the group service reported it. */
export interface ShownEvent {
  id: string;
  group: string;
  groupId: string;
  event: GroupEvent["kind"];
  user: string;
  by?: string;
  sentAt: number;
}

/** A receipt from a contact for messages I sent (not shown as a message). */
export interface ShownReceipt {
  from: string;
  fromId: string;
  receipt: "delivered" | "read";
  /** The sealed ids of my messages it names. */
  of: string[];
}

/** What became of one delivery: something to show, or nothing (acked all the same). */
export type Incoming =
  | { kind: "message"; message: ShownMessage; newSession: boolean }
  | { kind: "receipt"; receipt: ShownReceipt; newSession: boolean }
  | { kind: "event"; event: ShownEvent }
  | { kind: "duplicate" }
  | { kind: "dropped"; newSession: boolean };
