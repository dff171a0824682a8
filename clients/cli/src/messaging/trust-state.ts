// How far the user trusts a contact, apart from the rest of contacts.ts so that `natter who`
// reads it without loading any cryptography.
import type { Contact } from "../home-store.ts";

/** How far the user trusts a contact: never compared, compared, or changed since the pin. */
export const TRUST_STATES = ["unverified", "verified", "changed"] as const;
export type TrustState = (typeof TRUST_STATES)[number];

/** The trust state of a pinned contact. */
export function trustState(c: Contact): TrustState {
  if (c.changed) return "changed";
  return c.verifiedAt === undefined ? "unverified" : "verified";
}
