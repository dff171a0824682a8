import { z } from "zod";
import { CommonEnv } from "@natter/kit";

const port = z.coerce.number().int().min(0).max(65535);

export const GroupEnv = z.object({
  ...CommonEnv,
  /** Port of /healthz and /readyz; 0 serves none. */
  GROUP_HEALTH_PORT: port.default(0),
});

export type GroupConfig = z.output<typeof GroupEnv>;
