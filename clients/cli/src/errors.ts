import { ERRORS, NatterError, isErrorCode, type ErrorCode } from "@natter/protocol";
import { EXIT, type ExitCode } from "./exit-codes.ts";

/** Failures only the client knows about, beside the protocol's catalogue. */
export const CLIENT_ERRORS = {
  USAGE: "usage error",
  NOT_LOGGED_IN: "not logged in here: run `natter login <username>` first",
  NO_SERVICE: "Sorry, no services available",
  NO_PASSWORD: "no terminal to ask for the password: pass it on stdin with --password-stdin",
  PASSWORD_MISMATCH: "the passwords do not match",
  BAD_BACKUP_PASSWORD: "the key backup does not open with this password",
  CONNECTION_LOST: "the connection to the server was lost",
  SELF: "you cannot send a message to yourself",
  HOME_LOCKED: "the natter home is busy (locked by another natter): try again",
  BAD_HOME: "the natter home holds a file this version does not understand",
  INVALID_GROUP_NAME: "a group name is 3 to 32 characters of a-z, 0-9, '_', '.' and '-'",
  NO_FILE: "that file cannot be read",
  DOWNLOAD_FAILED: "a file could not be downloaded or did not decrypt",
  TLS_UNTRUSTED: "the server's TLS certificate is not trusted: give its CA with --ca <file> or NATTER_CA",
  TLS_FAILED: "the server did not answer in TLS: is it a TLS edge? (use host:port for plain TCP)",
  NO_PROFILE_KEY: "no profile key from that user yet: they share it when they message you",
  PROFILE_UNREADABLE: "the profile does not open with the profile key this home has: it is renewed with their next message",
  NOT_AN_IMAGE: "an avatar must be a PNG, JPEG, GIF or WebP image",
  AVATAR_TOO_LARGE: "an avatar is at most 5 MiB",
  IDENTITY_CHANGED: "a contact's identity key has changed: compare safety numbers with `natter verify <user>`, then accept it with `natter trust <user>`",
  NOT_A_CONTACT: "you have not exchanged messages or safety numbers with that user yet",
  NO_KEM_PREKEY: "that user's keys on the server have no post-quantum prekey, so no session is started: they publish one when their natter next starts",
} as const;

export type ClientErrorCode = keyof typeof CLIENT_ERRORS;
export type CliErrorCode = ErrorCode | ClientErrorCode;

/** The client's error: a code from either catalogue and a message safe to show. */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly code: CliErrorCode;

  constructor(code: CliErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? catalogueMessage(code), options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

function catalogueMessage(code: CliErrorCode): string {
  return isErrorCode(code) ? ERRORS[code] : CLIENT_ERRORS[code];
}

export { EXIT, type ExitCode } from "./exit-codes.ts";

const AUTH_FAILURES: ReadonlySet<CliErrorCode> = new Set<CliErrorCode>([
  "BAD_CREDENTIALS",
  "ACCOUNT_LOCKED",
  "TOKEN_INVALID",
  "TOKEN_EXPIRED",
  "SESSION_ENDED",
  "NOT_AUTHENTICATED",
  "NOT_LOGGED_IN",
  "BAD_BACKUP_PASSWORD",
]);

const NO_SERVICE: ReadonlySet<CliErrorCode> = new Set<CliErrorCode>(["NO_SERVICE", "UNAVAILABLE", "CONNECTION_LOST", "TOO_MANY_CONNECTIONS", "STORAGE_FULL"]);

export function exitCodeFor(code: CliErrorCode): ExitCode {
  if (AUTH_FAILURES.has(code)) return EXIT.AUTH;
  if (NO_SERVICE.has(code)) return EXIT.NO_SERVICE;
  return EXIT.REFUSED;
}

/**
 * What the user sees for any failure: a stable code and one line. Protocol errors show
 * the catalogue's sentence, never the server's text; anything unexpected shows no detail
 * (it could carry key material or message text).
 */
export function describeError(err: unknown): { code: CliErrorCode | "INTERNAL"; message: string } {
  if (err instanceof CliError) return { code: err.code, message: err.message };
  if (err instanceof NatterError) return { code: err.code, message: ERRORS[err.code] };
  return { code: "INTERNAL", message: "something went wrong in natter" };
}

/** Turns any error thrown by a protocol helper into the client's error type. */
export function toCliError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof NatterError) return new CliError(err.code, ERRORS[err.code], { cause: err });
  return new CliError("INTERNAL", undefined, { cause: err });
}
