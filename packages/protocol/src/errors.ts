/**
 * The error catalogue: every code a client can see, with the sentence the CLI shows.
 * Codes are stable; messages may be reworded.
 */
export const ERRORS = {
  BAD_FRAME: "the frame was not understood",
  FRAME_TOO_LARGE: "the frame is larger than the server accepts",
  VERSION_MISMATCH: "this client speaks a protocol version the server does not: upgrade natter",
  NOT_AUTHENTICATED: "log in first",
  ALREADY_AUTHENTICATED: "this connection is already logged in",
  INVALID_USERNAME: "a username is 3 to 32 characters of a-z, 0-9, '_', '.' and '-'",
  USERNAME_TAKEN: "that username is taken",
  PASSWORD_TOO_SHORT: "a password needs at least 8 bytes",
  PASSWORD_TOO_LONG: "a password can have at most 1024 bytes",
  BAD_CREDENTIALS: "wrong username or password",
  ACCOUNT_LOCKED: "too many failed logins: wait a while and try again",
  RATE_LIMITED: "too many attempts: slow down",
  ALREADY_CONNECTED: "this account is connected elsewhere (log in with --takeover to end that session)",
  ALREADY_RECEIVING: "another connection of this account is already receiving messages",
  TOKEN_INVALID: "the session is not valid: log in again",
  TOKEN_EXPIRED: "the session token has expired",
  SESSION_ENDED: "the session has ended: log in again",
  NO_SUCH_SESSION: "no such session of yours (it may have ended already)",
  NO_SUCH_USER: "no such user",
  CANNOT_BLOCK_SELF: "you cannot block yourself",
  INVALID_BUNDLE: "the device key bundle is not valid",
  NO_SUCH_GROUP: "no such group",
  NOT_A_MEMBER: "you are not a member of that group",
  ALREADY_A_MEMBER: "already a member of that group",
  NOT_ADMIN: "only admins can add or remove members",
  GROUP_CLOSED: "that group is closed: an admin has to add you",
  GROUP_NAME_TAKEN: "a group of that name exists already",
  BAD_ENTRY: "the group change is not valid: it is not signed by a member allowed to make it, or does not match the group",
  STALE_HEAD: "the group changed meanwhile: try again",
  FILE_TOO_LARGE: "the file is larger than the server accepts",
  NO_SUCH_FILE: "no such file (it may have expired)",
  MESSAGE_TOO_LARGE: "the message is larger than the server accepts",
  INBOX_FULL: "the recipient's inbox is full: nothing more is stored for them until they read what waits",
  STORAGE_FULL: "the server's message store is full: try again later",
  FILE_QUOTA_EXCEEDED: "you have stored as many files as the server allows you: try again when older ones expire",
  TOO_MANY_CONNECTIONS: "the server has too many connections waiting to log in: try again shortly",
  LOGIN_TIMEOUT: "the connection did not log in in time",
  UNAVAILABLE: "the service is not available right now: try again",
  INTERNAL: "something went wrong on the server",
} as const;

export type ErrorCode = keyof typeof ERRORS;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && Object.hasOwn(ERRORS, code);
}

/** The one error type of natter's services and client, carrying a stable code. */
export class NatterError extends Error {
  override readonly name = "NatterError";
  readonly code: ErrorCode;
  /** Extra machine-readable detail safe to show (e.g. seconds until unlocked). */
  readonly detail: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; detail?: Record<string, unknown> }) {
    super(message ?? ERRORS[code], options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.detail = options?.detail;
  }
}

/** Fail loudly when an invariant breaks. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`invariant broken: ${message}`);
}
