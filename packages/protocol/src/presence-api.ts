import { z } from "zod";
import { Name } from "./names.ts";
import { verb } from "./rpc.ts";

const Uuid = z.uuid();
/** Milliseconds since the epoch. */
const Millis = z.number().int().nonnegative();

/** An edge's name, unique among live edges (its pod or host name). */
export const EdgeName = z.string().min(1).max(128);
/** Where clients reach an edge: `host:port`. */
export const EdgeAddress = z.string().min(3).max(261).regex(/^[^\s]+:\d{1,5}$/, "must be host:port");

/** Most users one `online` batch may carry; an edge sends more as several batches. */
export const MAX_ONLINE_BATCH = 1000;

/** How often edges publish an `EdgeHeartbeat`. */
export const EDGE_HEARTBEAT_MS = 2000;

/**
 * What edges publish on `<ns>.evt.presence` (core NATS) when an authenticated connection
 * opens or closes. `at` is the edge's clock. A user with two connections sends two
 * connects and counts as online until both have disconnected.
 */
export const PresenceEvent = z.discriminatedUnion("t", [
  z.object({ t: z.literal("connect"), userId: Uuid, username: Name, edge: EdgeName, at: Millis }),
  z.object({ t: z.literal("disconnect"), userId: Uuid, username: Name, edge: EdgeName, at: Millis }),
]);
export type PresenceEvent = z.infer<typeof PresenceEvent>;

/**
 * An edge's answer to a `PresenceSync` request, on `<ns>.evt.presence`: everyone connected
 * to it right now, with their number of connections, in batches of at most
 * MAX_ONLINE_BATCH. The batches of one answer share `at` and only the final one has
 * `last: true` (the default); that answer then replaces all presence knew of the edge,
 * so an answer received twice changes nothing and a missed disconnect is forgotten.
 * An edge takes the snapshot and publishes all its batches in one go, before any later
 * connect/disconnect of its own; with nobody connected it sends one empty batch.
 */
export const PresenceOnline = z.object({
  t: z.literal("online"),
  edge: EdgeName,
  users: z
    .array(z.object({ userId: Uuid, username: Name, connections: z.number().int().positive().max(100_000).default(1) }))
    .max(MAX_ONLINE_BATCH),
  at: Millis,
  last: z.boolean().default(true),
});
export type PresenceOnline = z.infer<typeof PresenceOnline>;

/** Everything published on `<ns>.evt.presence`. */
export const PresenceFeed = z.discriminatedUnion("t", [...PresenceEvent.options, PresenceOnline]);
export type PresenceFeed = z.infer<typeof PresenceFeed>;

/**
 * Every EDGE_HEARTBEAT_MS each edge publishes its load on `<ns>.evt.edge`. An edge
 * unheard of for `PRESENCE_EDGE_TIMEOUT_MS` is dead: its users go offline together.
 */
export const EdgeHeartbeat = z.object({
  edge: EdgeName,
  /**
   * A random id the edge picks when it starts. When it changes, presence knows the edge
   * restarted under the same name and asks it who is connected now.
   */
  instance: z.string().min(1).max(64).optional(),
  address: EdgeAddress,
  connections: z.number().int().nonnegative(),
  /** Shutting down: takes no new clients and should not be redirected to. */
  draining: z.boolean(),
  at: Millis,
});
export type EdgeHeartbeat = z.infer<typeof EdgeHeartbeat>;

/**
 * Presence asks edges for their online users on `<ns>.evt.presence-sync` (core NATS):
 * `{}` asks every edge; with `edge`, only that edge answers. Answers are
 * `PresenceOnline` batches on `<ns>.evt.presence`.
 */
export const PresenceSync = z.object({ edge: EdgeName.optional() });
export type PresenceSync = z.infer<typeof PresenceSync>;

export const WhoEntry = z.object({
  userId: Uuid,
  username: Name,
  online: z.boolean(),
  /** When an offline user was last online; null for users online now. */
  lastSeen: Millis.nullable(),
});
export type WhoEntry = z.infer<typeof WhoEntry>;

export const EdgeInfo = z.object({ edge: EdgeName, address: EdgeAddress, connections: z.number().int().nonnegative(), draining: z.boolean() });
export type EdgeInfo = z.infer<typeof EdgeInfo>;

/**
 * The presence service's verbs (`<ns>.svc.presence.<verb>`). Only edges call them;
 * `userId` is the edge's authenticated user, never client text.
 */
export const PresenceApi = {
  /**
   * Users online now (the caller left out), by username; with `lastHour` also those seen
   * within the last hour. Anyone the caller blocked or who blocked the caller is left out.
   */
  who: verb(z.object({ userId: Uuid, lastHour: z.boolean().optional() }), z.object({ users: z.array(WhoEntry) })),
  /** Live edges, least loaded first (draining ones last), for redirects and clients. */
  edges: verb(z.object({}), z.object({ edges: z.array(EdgeInfo) })),
} as const;

export type PresenceApi = typeof PresenceApi;
export type PresenceVerb = keyof PresenceApi;
