import { z } from "zod";

/** Usernames and group names: 3–32 of a-z 0-9 _ . -, case-folded. */
export const NAME_PATTERN = /^[a-z0-9_.-]{3,32}$/;

export function foldName(name: string): string {
  return name.normalize("NFKC").toLowerCase();
}

export function isValidName(name: string): boolean {
  return NAME_PATTERN.test(foldName(name));
}

export const Name = z.string().max(64).transform(foldName).pipe(z.string().regex(NAME_PATTERN));

/**
 * Passwords are 8 to 1024 bytes of UTF-8, checked by the client: only a key stretched from
 * the password leaves the machine, so bcrypt's 72-byte limit does not bind it.
 */
export const PASSWORD_MIN_BYTES = 8;
export const PASSWORD_MAX_BYTES = 1024;

export function passwordProblem(password: string): "PASSWORD_TOO_SHORT" | "PASSWORD_TOO_LONG" | undefined {
  const bytes = Buffer.byteLength(password, "utf8");
  if (bytes < PASSWORD_MIN_BYTES) return "PASSWORD_TOO_SHORT";
  if (bytes > PASSWORD_MAX_BYTES) return "PASSWORD_TOO_LONG";
  return undefined;
}
