import { z } from "zod";
import { NAMESPACE_PATTERN } from "@natter/protocol";

const LogLevel = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);
/** A pino level name, as LOG_LEVEL takes it. */
export type LogLevel = z.output<typeof LogLevel>;

/**
 * Environment entries every service shares. Spread the ones a service uses into its own
 * schema: `z.object({ ...CommonEnv, AUTH_X: … })` (services without Postgres leave out
 * `DATABASE_URL`, which is required wherever it appears).
 */
export const CommonEnv = {
  NATS_URL: z.string().min(1).default("nats://127.0.0.1:4222"),
  /** The service's own NATS user (deploy/nats/permissions.ts); unset on an open NATS. */
  NATS_USER: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, "must be 1-32 of a-z 0-9 _ -, starting with a letter").optional(),
  /** That user's password; set with NATS_USER, never printed. */
  NATS_PASSWORD: z.string().min(1).optional(),
  DATABASE_URL: z.string().min(1),
  NATTER_NAMESPACE: z.string().regex(NAMESPACE_PATTERN, "must be 1-32 of a-z 0-9 _ -").default("natter"),
  LOG_LEVEL: LogLevel.default("info"),
  /** Copies JetStream keeps of every stream and bucket natter creates: 3 on a NATS cluster. */
  NATTER_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
} as const;

/** Entries of CommonEnv never to print: every service's startup line redacts them. */
export const COMMON_SECRETS = ["NATS_PASSWORD"] as const;

/** Invalid configuration: `problems` names every bad variable, never its value. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`invalid configuration: ${problems.join("; ")}`);
    this.problems = problems;
  }
}

/**
 * Parses the environment once against `schema` and returns a deeply frozen result.
 * Empty variables count as unset. Throws ConfigError listing every problem.
 */
export function loadConfig<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv = process.env): Readonly<z.output<S>> {
  const input: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value !== "") input[key] = value;
  }
  const result = schema.safeParse(input);
  if (!result.success) {
    // zod issues carry paths and rules, not the input values, so secrets stay out.
    const problems = result.error.issues.map((issue) => {
      const name = issue.path.map(String).join(".") || "(environment)";
      return issue.code === "invalid_type" && input[String(issue.path[0])] === undefined && issue.path.length === 1
        ? `${name}: required`
        : `${name}: ${issue.message}`;
    });
    throw new ConfigError(problems);
  }
  return deepFreeze(result.data);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

const URL_CREDENTIALS = /(\/\/[^/@:\s]*):[^/@\s]*@/g;

/**
 * A copy of `config` fit for a startup log line: `secretKeys` are replaced and passwords
 * inside URLs (`postgres://user:pw@host`) are masked.
 */
export function redactConfig(config: object, secretKeys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (secretKeys.includes(key)) out[key] = "[redacted]";
    else if (typeof value === "string") out[key] = value.replace(URL_CREDENTIALS, "$1:[redacted]@");
    else out[key] = value;
  }
  return out;
}
