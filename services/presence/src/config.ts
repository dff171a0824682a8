import { z } from "zod";
import { CommonEnv, loadConfig } from "@natter/kit";

const Millis = (fallback: number, min: number) => z.coerce.number().int().min(min).max(3_600_000).default(fallback);

/** The presence service's environment. */
export const PresenceEnv = z.object({
  ...CommonEnv,
  /** Port for /healthz and /readyz; 0 turns them off. */
  PRESENCE_HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  /** An edge unheard of for this long is dead and its users offline (edges heartbeat every 2 s). */
  PRESENCE_EDGE_TIMEOUT_MS: Millis(6000, 100),
  /**
   * How long a starting replica listens to heartbeats and sync answers before it answers
   * verbs, so that it never answers from a half-built view (one heartbeat period and a bit).
   */
  PRESENCE_WARMUP_MS: Millis(2500, 0),
});

export type PresenceConfig = z.output<typeof PresenceEnv>;

/** Secret entries to leave out of any printout (passwords in URLs are masked anyway). */
export const PRESENCE_SECRETS = [] as const;

export function loadPresenceConfig(env: NodeJS.ProcessEnv = process.env): Readonly<PresenceConfig> {
  return loadConfig(PresenceEnv, env);
}
