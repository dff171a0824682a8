import type { z } from "zod";
import { NatterError, type ErrorCode } from "./errors.ts";

/**
 * The one way untrusted data becomes typed: frames, NATS payloads, JSON columns and
 * files. Throws a NatterError listing each bad path (never the offending values).
 */
export function parse<S extends z.ZodType>(schema: S, value: unknown, code: ErrorCode = "BAD_FRAME"): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`)
    .join("; ");
  throw new NatterError(code, `${problemPrefix(code)}${problems}`);
}

function problemPrefix(code: ErrorCode): string {
  return code === "BAD_FRAME" ? "malformed frame: " : "invalid input: ";
}
