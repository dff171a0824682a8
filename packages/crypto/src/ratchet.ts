import { type Bytes, equalBytes, toBase64url, utf8 } from "./bytes.ts";
import { CryptoError } from "./errors.ts";
import { arr, key, obj, uint } from "./json.ts";
import type { KeyPair, Primitives } from "./primitives.ts";

/** Most message keys skipped in one receiving chain by one message (libsignal's MAX_SKIP idea). */
export const MAX_SKIP = 1000;
/** Most skipped message keys kept per session; the oldest are evicted first. */
export const MAX_SKIPPED_KEYS = 2000;
/** How many past remote ratchet keys are remembered to recognise replays from closed chains. */
const MAX_PREVIOUS_REMOTE_KEYS = 40;

const INFO_ROOT = utf8("natter ratchet root v1");
const INFO_MESSAGE = utf8("natter ratchet message keys v1");
const ZERO32 = new Uint8Array(32);
const CK_MESSAGE = Uint8Array.of(0x01);
const CK_NEXT = Uint8Array.of(0x02);

export interface Header {
  dh: Bytes;
  pn: number;
  n: number;
}

interface Skipped {
  dh: string;
  n: number;
  mk: Bytes;
}

/** Double Ratchet state (Signal's spec, §3.2), without header encryption. */
export interface RatchetState {
  rootKey: Bytes;
  dhs: KeyPair;
  dhr: Bytes | null;
  cks: Bytes | null;
  ckr: Bytes | null;
  ns: number;
  nr: number;
  pn: number;
  /** Insertion order is age: the first entry is evicted first. */
  skipped: Map<string, Skipped>;
  previousDhr: string[];
}

export interface RatchetStateJSON {
  rootKey: string;
  dhs: { publicKey: string; privateKey: string };
  dhr: string | null;
  cks: string | null;
  ckr: string | null;
  ns: number;
  nr: number;
  pn: number;
  skipped: [string, number, string][];
  previousDhr: string[];
}

/** KDF_RK: HKDF-SHA256 with the root key as salt and the DH output as input key material. */
async function kdfRk(p: Primitives, rk: Bytes, dhOut: Bytes): Promise<[Bytes, Bytes]> {
  const out = await p.hkdfSha256(dhOut, rk, INFO_ROOT, 64);
  return [out.slice(0, 32), out.slice(32)];
}

/** KDF_CK: HMAC-SHA256 keyed by the chain key, 0x01 for the message key and 0x02 for the next chain key. */
export async function kdfCk(p: Primitives, ck: Bytes): Promise<{ mk: Bytes; ck: Bytes }> {
  const [mk, next] = await p.hmacSha256Many(ck, [CK_MESSAGE, CK_NEXT]);
  return { mk: mk!, ck: next! };
}

/** The AES-256-GCM key and nonce for one message key (HKDF, as the spec's ENCRYPT recommends). */
export async function messageKeys(p: Primitives, mk: Bytes, info: Bytes = INFO_MESSAGE): Promise<{ key: Bytes; iv: Bytes }> {
  const out = await p.hkdfSha256(mk, ZERO32, info, 44);
  return { key: out.subarray(0, 32), iv: out.subarray(32) };
}

export async function initAlice(p: Primitives, sk: Bytes, bobRatchetKey: Bytes): Promise<RatchetState> {
  const dhs = await p.x25519Generate();
  const [rootKey, cks] = await kdfRk(p, sk, await p.x25519(dhs.privateKey, bobRatchetKey));
  return { rootKey, dhs, dhr: bobRatchetKey.slice(), cks, ckr: null, ns: 0, nr: 0, pn: 0, skipped: new Map(), previousDhr: [] };
}

export function initBob(sk: Bytes, bobRatchetPair: KeyPair): RatchetState {
  return { rootKey: sk, dhs: bobRatchetPair, dhr: null, cks: null, ckr: null, ns: 0, nr: 0, pn: 0, skipped: new Map(), previousDhr: [] };
}

/** Next sending message key; call `commit` once the message has been sealed. */
export async function nextSendingKey(p: Primitives, st: RatchetState): Promise<{ header: Header; mk: Bytes; commit: () => void }> {
  if (!st.cks) throw new CryptoError("MALFORMED", "session cannot send yet");
  const { mk, ck } = await kdfCk(p, st.cks);
  const header = { dh: st.dhs.publicKey, pn: st.pn, n: st.ns };
  return {
    header,
    mk,
    commit: () => {
      st.cks = ck;
      st.ns += 1;
    },
  };
}

async function skipChain(p: Primitives, ck: Bytes, from: number, until: number, dh: string): Promise<{ skipped: Skipped[]; ck: Bytes }> {
  if (until - from > MAX_SKIP) throw new CryptoError("TOO_MANY_SKIPPED", "too many skipped messages");
  const skipped: Skipped[] = [];
  for (let n = from; n < until; n++) {
    const step = await kdfCk(p, ck);
    skipped.push({ dh, n, mk: step.mk });
    ck = step.ck;
  }
  return { skipped, ck };
}

function storeSkipped(st: RatchetState, list: Skipped[]): void {
  for (const s of list) st.skipped.set(`${s.dh}.${s.n}`, s);
  for (const id of st.skipped.keys()) {
    if (st.skipped.size <= MAX_SKIPPED_KEYS) break;
    st.skipped.delete(id);
  }
}

/**
 * RatchetDecrypt (spec §3.5) split in two: `open` is tried with the message key; nothing in
 * `st` changes unless it succeeds, so a failure leaves the session as it was.
 */
export async function receive<T>(p: Primitives, st: RatchetState, h: Header, open: (mk: Bytes) => Promise<T>): Promise<T> {
  const dh = toBase64url(h.dh);
  const id = `${dh}.${h.n}`;
  const found = st.skipped.get(id);
  if (found) {
    const out = await open(found.mk);
    st.skipped.delete(id);
    return out;
  }
  if (st.dhr && equalBytes(h.dh, st.dhr)) {
    if (h.n < st.nr || !st.ckr) throw new CryptoError("DUPLICATE_MESSAGE", "duplicate message");
    const { skipped, ck } = await skipChain(p, st.ckr, st.nr, h.n, dh);
    const step = await kdfCk(p, ck);
    const out = await open(step.mk);
    storeSkipped(st, skipped);
    st.ckr = step.ck;
    st.nr = h.n + 1;
    return out;
  }
  if (st.previousDhr.includes(dh)) throw new CryptoError("DUPLICATE_MESSAGE", "duplicate message");

  // A new ratchet key from the peer: a DH ratchet step.
  if (h.n > MAX_SKIP) throw new CryptoError("TOO_MANY_SKIPPED", "too many skipped messages");
  let closing: Skipped[] = [];
  if (st.ckr && st.dhr) closing = (await skipChain(p, st.ckr, st.nr, Math.max(h.pn, st.nr), toBase64url(st.dhr))).skipped;
  const [rk1, ckr] = await kdfRk(p, st.rootKey, await p.x25519(st.dhs.privateKey, h.dh));
  const dhs = await p.x25519Generate();
  const [rk2, cks] = await kdfRk(p, rk1, await p.x25519(dhs.privateKey, h.dh));
  const { skipped, ck } = await skipChain(p, ckr, 0, h.n, dh);
  const step = await kdfCk(p, ck);
  const out = await open(step.mk);

  storeSkipped(st, closing);
  storeSkipped(st, skipped);
  if (st.dhr) {
    st.previousDhr.push(toBase64url(st.dhr));
    if (st.previousDhr.length > MAX_PREVIOUS_REMOTE_KEYS) st.previousDhr.shift();
  }
  st.pn = st.ns;
  st.ns = 0;
  st.nr = h.n + 1;
  st.dhs = dhs;
  st.dhr = h.dh.slice();
  st.rootKey = rk2;
  st.cks = cks;
  st.ckr = step.ck;
  return out;
}

export function ratchetToJSON(st: RatchetState): RatchetStateJSON {
  const b = toBase64url;
  return {
    rootKey: b(st.rootKey),
    dhs: { publicKey: b(st.dhs.publicKey), privateKey: b(st.dhs.privateKey) },
    dhr: st.dhr && b(st.dhr),
    cks: st.cks && b(st.cks),
    ckr: st.ckr && b(st.ckr),
    ns: st.ns,
    nr: st.nr,
    pn: st.pn,
    skipped: [...st.skipped.values()].map((s) => [s.dh, s.n, b(s.mk)]),
    previousDhr: [...st.previousDhr],
  };
}

export function ratchetFromJSON(v: unknown): RatchetState {
  const o = obj(v, "session.ratchet");
  const opt = (x: unknown, path: string): Bytes | null => (x === null ? null : key(x, 32, path));
  const dhs = obj(o.dhs, "session.ratchet.dhs");
  const skipped = new Map<string, Skipped>();
  arr(o.skipped, "session.ratchet.skipped", "MALFORMED", MAX_SKIPPED_KEYS).forEach((e, i) => {
    const t = arr(e, `session.ratchet.skipped[${i}]`);
    const dh = toBase64url(key(t[0], 32, `session.ratchet.skipped[${i}][0]`));
    const n = uint(t[1], `session.ratchet.skipped[${i}][1]`);
    skipped.set(`${dh}.${n}`, { dh, n, mk: key(t[2], 32, `session.ratchet.skipped[${i}][2]`) });
  });
  const previousDhr = arr(o.previousDhr, "session.ratchet.previousDhr", "MALFORMED", MAX_PREVIOUS_REMOTE_KEYS).map((x, i) =>
    toBase64url(key(x, 32, `session.ratchet.previousDhr[${i}]`)),
  );
  return {
    rootKey: key(o.rootKey, 32, "session.ratchet.rootKey"),
    dhs: { publicKey: key(dhs.publicKey, 32, "session.ratchet.dhs.publicKey"), privateKey: key(dhs.privateKey, 32, "session.ratchet.dhs.privateKey") },
    dhr: opt(o.dhr, "session.ratchet.dhr"),
    cks: opt(o.cks, "session.ratchet.cks"),
    ckr: opt(o.ckr, "session.ratchet.ckr"),
    ns: uint(o.ns, "session.ratchet.ns"),
    nr: uint(o.nr, "session.ratchet.nr"),
    pn: uint(o.pn, "session.ratchet.pn"),
    skipped,
    previousDhr,
  };
}

