import { z } from "zod";
import { CommonEnv, INBOX_DEFAULTS } from "@natter/kit";
import { DEFAULT_MAX_FRAME } from "@natter/protocol";

const port = z.coerce.number().int().min(0).max(65535);
const positive = z.coerce.number().positive();

// Edges keep no tables: everything they need comes through NATS.
const { DATABASE_URL: _unused, ...common } = CommonEnv;

export const EdgeEnv = z.object({
  ...common,
  EDGE_HOST: z.string().default("127.0.0.1"),
  EDGE_PORT: port.default(7400),
  /** This edge's name among the live edges (its pod or host name); defaults to its public address. */
  EDGE_NAME: z.string().min(1).max(128).optional(),
  /** The address clients are told to use for this edge (redirects); defaults to host:port. */
  EDGE_PUBLIC_ADDR: z.string().optional(),
  EDGE_MAX_FRAME: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(DEFAULT_MAX_FRAME),
  /** Largest file a client may store, in bytes (default 100 MiB plus room for encryption overhead). */
  EDGE_MAX_FILE: z.coerce.number().int().positive().default(100 * 1024 * 1024 + 64 * 1024),
  EDGE_CHUNK_SIZE: z.coerce.number().int().min(4096).default(256 * 1024),
  EDGE_TLS_CERT: z.string().optional(),
  EDGE_TLS_KEY: z.string().optional(),
  EDGE_HEALTH_PORT: port.default(0),
  /** Connections the kernel may queue before the edge accepts them (a reconnect storm arrives at once). */
  EDGE_LISTEN_BACKLOG: z.coerce.number().int().min(16).max(65535).default(4096),
  /** How long SIGTERM waits for clients to leave before closing them. */
  EDGE_DRAIN_MS: z.coerce.number().int().min(0).default(5000),
  /** Messages a user may send per second across all their connections (token bucket, burst twice this). */
  EDGE_SEND_RATE: positive.default(1000),
  /** A connection that has not logged in after this long is closed. */
  EDGE_LOGIN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** How often clients ping; a logged-in connection silent for twice this is closed. */
  EDGE_KEEPALIVE_MS: z.coerce.number().int().min(1000).default(30_000),
  /** Connections not yet logged in that one address may hold. */
  EDGE_MAX_WAITING_PER_ADDR: z.coerce.number().int().positive().default(64),
  /** Connections not yet logged in that the edge holds in all. */
  EDGE_MAX_WAITING: z.coerce.number().int().positive().default(4096),
  /** Frames a second one address may send before logging in (burst twice this). */
  EDGE_PRELOGIN_RATE: positive.default(50),
  /** Bytes of unfinished frames the edge holds over all connections (those not logged in: half). */
  EDGE_PARTIAL_FRAME_BYTES: z.coerce.number().int().min(1024 * 1024).default(256 * 1024 * 1024),
  /** Messages one user's inbox holds; more are refused with INBOX_FULL (nothing is evicted). */
  EDGE_INBOX_MAX_MSGS: z.coerce.number().int().positive().default(INBOX_DEFAULTS.maxPerUser),
  /** Bytes of files one user may have stored at once (files expire after 30 days); more are refused with FILE_QUOTA_EXCEEDED. */
  EDGE_FILE_QUOTA_BYTES: z.coerce.number().int().min(256 * 1024).default(2 * 1024 * 1024 * 1024),
  /** Bytes the whole INBOX stream holds; more are refused with STORAGE_FULL. */
  EDGE_INBOX_MAX_BYTES: z.coerce.number().int().positive().default(INBOX_DEFAULTS.maxBytes),
}).refine((env) => env.EDGE_MAX_FRAME * 2 <= env.EDGE_PARTIAL_FRAME_BYTES, {
  message: "EDGE_PARTIAL_FRAME_BYTES must hold at least two of the largest frames",
  path: ["EDGE_PARTIAL_FRAME_BYTES"],
}).refine((env) => env.EDGE_CHUNK_SIZE + 1024 <= env.EDGE_MAX_FRAME, {
  message: "EDGE_CHUNK_SIZE must leave room for the frame around it within EDGE_MAX_FRAME",
  path: ["EDGE_CHUNK_SIZE"],
}).refine((env) => Boolean(env.EDGE_TLS_CERT) === Boolean(env.EDGE_TLS_KEY), {
  message: "EDGE_TLS_CERT and EDGE_TLS_KEY go together",
  path: ["EDGE_TLS_CERT"],
});

export type EdgeConfig = z.output<typeof EdgeEnv>;
