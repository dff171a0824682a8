import { ensureWorkQueue } from "@natter/kit";
import type { JetStreamManager } from "@nats-io/jetstream";
import type { Names } from "@natter/protocol";

/**
 * Creates or updates the GROUPS stream: group messages from edges, one subject per group,
 * a work queue (a message goes once the fan-out acks it). Safe to call from every replica.
 */
export async function ensureGroupStream(jsm: JetStreamManager, n: Names, replicas = 1): Promise<void> {
  await ensureWorkQueue(jsm, { name: n.groupStream, subjects: [n.groupWildcard], num_replicas: replicas });
}
