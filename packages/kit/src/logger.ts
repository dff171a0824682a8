import { pino, type DestinationStream, type LoggerOptions } from "pino";

export type Logger = import("pino").Logger;

const SECRET_KEYS = new Set(["password", "token", "refresh", "backup", "body", "key", "keys", "secret", "authorization", "cookie"]);
// Compound names such as identityKey, refreshToken, newPassword, jwtSecret, AUTH_JWT_KEYS.
const SECRET_SUFFIX = /(password|token|refresh|backup|body|key|keys|secret)$/i;
const REDACTED = "[Redacted]";
const MAX_DEPTH = 8;

function isSecretKey(key: string): boolean {
  return SECRET_KEYS.has(key.toLowerCase()) || SECRET_SUFFIX.test(key);
}

/** Copies `value` with every secret-looking key replaced, at any depth. */
function redact(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (value === null || typeof value !== "object") return value;
  if (seen.has(value) || depth > MAX_DEPTH) return "[…]";
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1, seen));
  if (value instanceof Error) return serializeError(value, depth, seen);
  if (ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  return redactObject(value as Record<string, unknown>, depth, seen);
}

/**
 * Errors keep their type, message, stack, code and cause only: libraries attach whole
 * clients, requests or rows to their errors, which are noise at best and secrets at worst.
 */
function serializeError(err: Error, depth: number, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = { type: err.constructor?.name ?? err.name, message: err.message, stack: err.stack };
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" || typeof code === "number") out["code"] = code;
  if (err.cause !== undefined) out["cause"] = redact(err.cause, depth + 1, seen);
  if (err instanceof AggregateError) out["errors"] = err.errors.map((e: unknown) => redact(e, depth + 1, seen));
  return out;
}

function redactObject(value: Record<string, unknown>, depth: number, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    out[key] = isSecretKey(key) ? REDACTED : redact(child, depth + 1, seen);
  }
  return out;
}

/**
 * pino JSON to stdout, tagged with `service`. Keys named like a password, token,
 * refresh token, backup, message body, key or secret are redacted wherever they appear.
 * `destination` (default stdout) is for tests.
 */
export function createLogger(service: string, level = "info", destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { service },
    serializers: { err: (err: unknown) => redact(err, 0, new WeakSet()) },
    formatters: {
      level: (label) => ({ level: label }),
      bindings: (bindings) => redactObject(bindings, 0, new WeakSet()),
      log: (object) => redactObject(object, 0, new WeakSet()),
    },
    // Child-logger bindings skip `formatters.log`; these cover their top-level keys.
    redact: { paths: [...SECRET_KEYS], censor: REDACTED },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
