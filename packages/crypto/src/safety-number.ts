import { type Bytes, Writer, concat, utf8 } from "./bytes.ts";
import { key } from "./json.ts";
import type { Primitives } from "./primitives.ts";

/** Signal's NumericFingerprintGenerator parameters. */
export const SAFETY_NUMBER_ITERATIONS = 5200;
const FINGERPRINT_VERSION = 0;

async function fingerprint(p: Primitives, userId: string, identityKey: Bytes): Promise<string> {
  let h = new Writer().u16(FINGERPRINT_VERSION).bytes(identityKey).bytes(utf8(userId)).finish();
  for (let i = 0; i < SAFETY_NUMBER_ITERATIONS; i++) h = await p.sha512(concat(h, identityKey));
  let digits = "";
  for (let i = 0; i < 30; i += 5) {
    const n = h[i]! * 2 ** 32 + ((h[i + 1]! << 24) >>> 0) + (h[i + 2]! << 16) + (h[i + 3]! << 8) + h[i + 4]!;
    digits += String(n % 100000).padStart(5, "0");
  }
  return digits;
}

/**
 * The safety number of two parties (Signal's NumericFingerprint: iterated SHA-512 over the
 * Ed25519 identity key and user id, 30 digits a side, the two sorted), as 12 groups of 5
 * digits. Both sides compute the same string.
 */
export async function safetyNumber(
  p: Primitives,
  local: { userId: string; identityKey: string },
  remote: { userId: string; identityKey: string },
): Promise<string> {
  const [a, b] = await Promise.all([
    fingerprint(p, local.userId, key(local.identityKey, 32, "local.identityKey")),
    fingerprint(p, remote.userId, key(remote.identityKey, 32, "remote.identityKey")),
  ]);
  const all = a < b ? a + b : b + a;
  return all.match(/.{5}/g)!.join(" ");
}
