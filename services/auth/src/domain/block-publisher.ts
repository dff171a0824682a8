import type { BlockEvent } from "@natter/protocol";

/** Tells the rest of the system (edges' cached block lists) that a block changed. */
export interface BlockPublisher {
  /** Best effort: a lost event only delays when an edge notices. */
  publish(event: BlockEvent): void;
}
