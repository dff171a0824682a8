import { createNativePrimitives } from "../src/native-primitives.ts";
import type { Primitives } from "../src/primitives.ts";
import { type SubtleCrypto, createWebCryptoPrimitives, nodeSubtle, peculiarSubtle } from "../src/webcrypto-primitives.ts";

/** A provider under test; `subtle` is the SubtleCrypto beneath a WebCrypto provider, for vectors the package's own calls cannot express. */
export interface Provider {
  name: string;
  p: Primitives;
  subtle?: SubtleCrypto;
}

function webcrypto(name: string, subtle: SubtleCrypto): Provider {
  return { name, p: createWebCryptoPrimitives(subtle), subtle };
}

/** Every provider, the default (native) first, so every suite can run on each. */
export const providers: readonly Provider[] = [
  { name: "native node:crypto", p: createNativePrimitives() },
  webcrypto("@peculiar/webcrypto", peculiarSubtle()),
  webcrypto("node:crypto webcrypto", nodeSubtle()),
];

export function hex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, "hex"));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}
