// Crypto cost per operation on every provider. Not a test: `npm run bench:crypto`.
import {
  DeviceIdentity,
  InboundSenderKeys,
  OutboundSenderKey,
  Session,
  createPrimitives,
  createWebCryptoPrimitives,
  decryptAttachment,
  encryptAttachment,
  generateAttachmentKey,
  nodeSubtle,
  peculiarSubtle,
} from "../src/index.ts";
import type { Primitives } from "../src/index.ts";

const MESSAGE = new Uint8Array(200).fill(0x61);

/** Wall-clock and CPU time (the process's, thread pool included), in µs. CPU time says more on a busy machine. */
interface Cost {
  wall: number;
  cpu: number;
}

async function measure(f: () => Promise<unknown>): Promise<Cost> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await f();
  const c = process.cpuUsage(c0);
  return { wall: (performance.now() - t0) * 1000, cpu: c.user + c.system };
}

async function time(n: number, f: () => Promise<unknown>): Promise<Cost> {
  // As many untimed runs first, so that compilation and tiering up are not counted.
  for (let i = 0; i < n; i++) await f();
  const total = await measure(async () => {
    for (let i = 0; i < n; i++) await f();
  });
  return { wall: total.wall / n, cpu: total.cpu / n };
}

const perOp = (c: Cost): string => `${c.wall.toFixed(0)} (cpu ${c.cpu.toFixed(0)})`;
const throughput = (bytes: number, c: Cost): string => `${(bytes / c.wall).toFixed(0)} (cpu ${(bytes / c.cpu).toFixed(0)})`;

async function pair(p: Primitives): Promise<{ alice: Session; bob: Session; bobId: DeviceIdentity; aliceId: DeviceIdentity }> {
  const aliceId = await DeviceIdentity.generate(p, { oneTimePrekeys: 0 });
  const bobId = await DeviceIdentity.generate(p, { oneTimePrekeys: 0 });
  const { oneTimePrekeys: _, kemOneTimePrekeys: _k, ...bundle } = bobId.publicBundle();
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
  // The last-resort KEM prekey: a bundle that can be used again and again, at the cost of a one-time one.
  const { oneTimePrekeys: _, kemOneTimePrekeys: _k, ...bundle } = bobId.publicBundle();
  const pqxdh = await time(100, async () => Session.accept(p, bobId, await (await Session.initiate(p, aliceId, bundle)).encrypt(MESSAGE)));
  const out = await OutboundSenderKey.create(p, "bench");
  const inbound = await InboundSenderKeys.fromDistribution(p, out.distribution());
  const senderKey = await time(1000, async () => inbound.decrypt(await out.encrypt(MESSAGE)));

  const size = 64 << 20;
  const piece = new Uint8Array(1 << 20);
  const source = async function* (): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < size >> 20; i++) yield piece;
  };
  const key = generateAttachmentKey(p);
  // Untimed: one pass to warm up and to keep a ciphertext (64 MiB) that decryption is timed on.
  const ciphertext: Uint8Array[] = [];
  const enc = encryptAttachment(p, key, source());
  for await (const c of enc.ciphertext) ciphertext.push(c);
  const encrypting = await measure(async () => {
    for await (const _c of encryptAttachment(p, key, source()).ciphertext);
  });
  const decrypting = await measure(async () => {
    for await (const _c of decryptAttachment(p, key, enc.digest(), (async function* () { yield* ciphertext; })()));
  });
  return {
    provider: name,
    "ratchet, same chain (µs/msg, enc+dec)": perOp(sameChain),
    "ratchet, DH step every msg (µs/msg)": perOp(dhStep),
    "PQXDH initiate+accept (µs)": perOp(pqxdh),
    "sender key (µs/msg, enc+sign+verify+dec)": perOp(senderKey),
    "attachment encrypt (MB/s)": throughput(size, encrypting),
    "attachment decrypt (MB/s)": throughput(size, decrypting),
  };
}

const rows = [
  await bench("native (default)", createPrimitives()),
  await bench("@peculiar/webcrypto", createWebCryptoPrimitives(peculiarSubtle())),
  await bench("node webcrypto", createWebCryptoPrimitives(nodeSubtle())),
];
console.table(rows);
