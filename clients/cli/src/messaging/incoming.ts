import type { GroupEvent } from "@natter/protocol";
import type { Content } from "./content.ts";

/** A message ready to show (a file once it is downloaded). */
export interface ShownMessage {
  id: string;
  from: string;
  fromId: string;
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

/** What became of one delivery: something to show, or nothing (acked all the same). */
export type Incoming =
  | { kind: "message"; message: ShownMessage; newSession: boolean }
  | { kind: "event"; event: ShownEvent }
  | { kind: "duplicate" }
  | { kind: "dropped"; newSession: boolean };
