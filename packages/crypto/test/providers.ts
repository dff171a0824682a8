import { createPrimitives, nativeSubtle, peculiarSubtle } from "../src/primitives.ts";
import type { Primitives } from "../src/primitives.ts";

/** Both providers, so every suite runs on each. */
export const providers: readonly { name: string; p: Primitives }[] = [
  { name: "@peculiar/webcrypto", p: createPrimitives(peculiarSubtle()) },
  { name: "node:crypto webcrypto", p: createPrimitives(nativeSubtle()) },
];

export function hex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, "hex"));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}
