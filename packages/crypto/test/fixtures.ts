import { DeviceIdentity, type PrekeyBundle } from "../src/identity.ts";
import type { Primitives } from "../src/primitives.ts";
import { Session } from "../src/session.ts";

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const str = (b: Uint8Array): string => new TextDecoder().decode(b);

/**
 * A claim from a device's bundle, as the server makes it: its signed prekey and last-resort
 * KEM prekey, and (optionally) its first one-time prekey and first one-time KEM prekey.
 */
export function claim(device: DeviceIdentity, withOneTime = true): PrekeyBundle {
  const { oneTimePrekeys, kemOneTimePrekeys, ...rest } = device.publicBundle();
  const first = oneTimePrekeys[0];
  const firstKem = kemOneTimePrekeys?.[0];
  return {
    ...rest,
    ...(withOneTime && first ? { oneTimePrekey: first } : {}),
    ...(withOneTime && firstKem ? { kemOneTimePrekey: firstKem } : {}),
  };
}

/** Alice and Bob with an established session (Bob has decrypted Alice's first message). */
export async function established(pa: Primitives, pb: Primitives = pa): Promise<{ alice: Session; bob: Session; aliceId: DeviceIdentity; bobId: DeviceIdentity }> {
  const aliceId = await DeviceIdentity.generate(pa, { oneTimePrekeys: 1 });
  const bobId = await DeviceIdentity.generate(pb, { oneTimePrekeys: 1 });
  const alice = await Session.initiate(pa, aliceId, claim(bobId));
  const { session: bob } = await Session.accept(pb, bobId, await alice.encrypt(text("hello")));
  return { alice, bob, aliceId, bobId };
}

export async function rejectsWith(f: () => Promise<unknown>, code: string): Promise<void> {
  try {
    await f();
  } catch (e) {
    if ((e as { code?: string }).code === code) return;
    throw new Error(`expected ${code}, got ${(e as { code?: string }).code ?? String(e)}`);
  }
  throw new Error(`expected ${code}, got success`);
}

export async function code(f: () => Promise<unknown>): Promise<string | null> {
  try {
    await f();
    return null;
  } catch (e) {
    return (e as { code?: string }).code ?? "THROWN";
  }
}
