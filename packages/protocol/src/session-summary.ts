import { z } from "zod";

/** One live session as its owner sees it (times in ms since the epoch). */
export const SessionSummary = z.object({
  id: z.uuid(),
  /** The address it started from and the one it was last refreshed from. */
  addr: z.string().max(64),
  lastAddr: z.string().max(64),
  startedAt: z.number(),
  lastSeenAt: z.number(),
  expiresAt: z.number(),
  current: z.boolean(),
});
export type SessionSummary = z.infer<typeof SessionSummary>;
