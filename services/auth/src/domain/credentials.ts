import { NAME_PATTERN, NatterError, foldName, type PublicBundle } from "@natter/protocol";

/** The stored form of a username: case-folded; INVALID_USERNAME unless 3–32 of a-z 0-9 _ . -. */
export function checkUsername(username: string): string {
  const folded = foldName(username);
  if (!NAME_PATTERN.test(folded)) throw new NatterError("INVALID_USERNAME");
  return folded;
}

/** Key ids must be unique within a bundle (signatures are the client's to check). */
export function checkBundle(bundle: PublicBundle): void {
  const ids = new Set(bundle.oneTimePrekeys.map((k) => k.id));
  if (ids.size !== bundle.oneTimePrekeys.length) throw new NatterError("INVALID_BUNDLE", "one-time prekey ids repeat");
}
