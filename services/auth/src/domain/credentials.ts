import { NAME_PATTERN, NatterError, foldName, type PublicBundle } from "@natter/protocol";

/** The stored form of a username: case-folded; INVALID_USERNAME unless 3–32 of a-z 0-9 _ . -. */
export function checkUsername(username: string): string {
  const folded = foldName(username);
  if (!NAME_PATTERN.test(folded)) throw new NatterError("INVALID_USERNAME");
  return folded;
}

/** One-time prekey ids must be unique within an upload. */
export function checkUniqueIds(keys: readonly { id: number }[]): void {
  if (new Set(keys.map((k) => k.id)).size !== keys.length) throw new NatterError("INVALID_BUNDLE", "one-time prekey ids repeat");
}

/** Key ids must be unique within a bundle, per kind (signatures are the client's to check). */
export function checkBundle(bundle: PublicBundle): void {
  checkUniqueIds(bundle.oneTimePrekeys);
  checkUniqueIds(bundle.kemOneTimePrekeys ?? []);
}
