// Crypto cost per operation on both providers. Not a test: `npm run bench:crypto`.
import { DeviceIdentity, InboundSenderKeys, OutboundSenderKey, Session, createPrimitives, decryptAttachment, encryptAttachment, generateAttachmentKey, nativeSubtle, peculiarSubtle } from "../src/index.ts";
import type { Primitives } from "../src/index.ts";

const MESSAGE = new Uint8Array(200).fill(0x61);

async function time(n: number, f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await f();
  return ((performance.now() - t0) * 1000) / n;
}

async function pair(p: Primitives): Promise<{ alice: Session; bob: Session; bobId: DeviceIdentity; aliceId: DeviceIdentity }> {
  const aliceId = await DeviceIdentity.generate(p, { oneTimePrekeys: 0 });
  const bobId = await DeviceIdentity.generate(p, { oneTimePrekeys: 0 });
  const { oneTimePrekeys: _, ...bundle } = bobId.publicBundle();
  const alice = await Session.initiate(p, aliceId, bundle);
  const { session: bob } = await Session.accept(p, bobId, await alice.encrypt(MESSAGE));
  await alice.decrypt(await bob.encrypt(MESSAGE));
  return { alice, bob, aliceId, bobId };
}

async function bench(name: string, p: Primitives): Promise<Record<string, string>> {
  const { alice, bob, aliceId, bobId } = await pair(p);
  const sameChain = await time(2000, async () => bob.decrypt(await alice.encrypt(MESSAGE)));
  let turn = false;
  const dhStep = await time(300, async () => {
    turn = !turn;
    return turn ? alice.decrypt(await bob.encrypt(MESSAGE)) : bob.decrypt(await alice.encrypt(MESSAGE));
  });
  const { oneTimePrekeys: _, ...bundle } = bobId.publicBundle();
  const x3dh = await time(100, async () => Session.accept(p, bobId, await (await Session.initiate(p, aliceId, bundle)).encrypt(MESSAGE)));
  const out = await OutboundSenderKey.create(p, "bench");
  const inbound = await InboundSenderKeys.fromDistribution(p, out.distribution());
  const senderKey = await time(1000, async () => inbound.decrypt(await out.encrypt(MESSAGE)));

  const size = 64 << 20;
  const piece = new Uint8Array(1 << 20);
  const source = async function* (): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < size >> 20; i++) yield piece;
  };
  const key = generateAttachmentKey(p);
  let t0 = performance.now();
  const enc = encryptAttachment(p, key, source());
  for await (const _c of enc.ciphertext);
  const encMBs = size / 1e6 / ((performance.now() - t0) / 1000);
  const again = encryptAttachment(p, key, source());
  t0 = performance.now();
  for await (const _c of decryptAttachment(p, key, enc.digest(), again.ciphertext));
  // The decryption pass also re-encrypts its input, so subtract the encryption time.
  const both = (performance.now() - t0) / 1000;
  const decMBs = size / 1e6 / (both - size / 1e6 / encMBs);
  return {
    provider: name,
    "ratchet, same chain (µs/msg, enc+dec)": sameChain.toFixed(0),
    "ratchet, DH step every msg (µs/msg)": dhStep.toFixed(0),
    "X3DH initiate+accept (µs)": x3dh.toFixed(0),
    "sender key (µs/msg, enc+sign+verify+dec)": senderKey.toFixed(0),
    "attachment encrypt (MB/s)": encMBs.toFixed(0),
    "attachment decrypt (MB/s)": decMBs.toFixed(0),
  };
}

const rows = [await bench("@peculiar/webcrypto", createPrimitives(peculiarSubtle())), await bench("node webcrypto", createPrimitives(nativeSubtle()))];
console.table(rows);
