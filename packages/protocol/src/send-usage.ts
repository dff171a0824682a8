import { z } from "zod";

/** Users one report names at most; an edge with more sends several. */
export const MAX_SEND_USAGE_BATCH = 1000;

/**
 * What an edge tells the others every second about the sends it accepted (core NATS,
 * `<ns>.evt.send-usage`): per user, the tokens of the send rate spent there, so each edge
 * charges them against its own bucket of that user.
 */
export const SendUsage = z.object({
  v: z.literal(1),
  /** The reporting edge: it ignores its own reports. */
  edge: z.string().min(1).max(128),
  usage: z.array(z.tuple([z.uuid(), z.number().int().positive()])).max(MAX_SEND_USAGE_BATCH),
});
export type SendUsage = z.infer<typeof SendUsage>;
