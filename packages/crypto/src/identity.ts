// A device's identity in one file: the identity keys, the prekeys they sign and the
// bundle made of them, since publishing, verifying and consuming prekeys share one format.
import { type Bytes, Writer, equalBytes, toBase64url, utf8 } from "./bytes.ts";
import { CryptoError } from "./errors.ts";
import { arr, key, obj, uint, version } from "./json.ts";
import { KEM_PUBLIC_KEY_LENGTH, KEM_SEED_LENGTH, kemKeyPairFromSeed } from "./kem.ts";
import type { KeyPair, Primitives } from "./primitives.ts";

/** A prekey as published: its id, public key (X25519, or ML-KEM-768 for a KEM prekey) and Ed25519 signature (base64url). */
export interface SignedPrekey {
  id: number;
  publicKey: string;
  signature: string;
}

/** What the server stores for a device. */
export interface PublicBundle {
  v: 1;
  /** Ed25519 identity public key. */
  identityKey: string;
  /** X25519 identity public key, signed by the identity key. */
  identityDhKey: string;
  identityDhSignature: string;
  signedPrekey: SignedPrekey;
  oneTimePrekeys: SignedPrekey[];
  /** The signed last-resort ML-KEM-768 prekey, rotated with the signed prekey (absent from a device made before PQXDH). */
  kemLastResortPrekey?: SignedPrekey;
  /** Signed one-time ML-KEM-768 prekeys. */
  kemOneTimePrekeys?: SignedPrekey[];
}

/** What a prekey claim returns: the bundle with at most one one-time prekey. */
export interface PrekeyBundle {
  v: 1;
  identityKey: string;
  identityDhKey: string;
  identityDhSignature: string;
  signedPrekey: SignedPrekey;
  oneTimePrekey?: SignedPrekey;
  /** PQXDH needs one of the two KEM prekeys: the one-time one when the server had any left. */
  kemLastResortPrekey?: SignedPrekey;
  kemOneTimePrekey?: SignedPrekey;
}

interface PrivatePrekey {
  id: number;
  keys: KeyPair;
  signature: Bytes;
}

/** An ML-KEM-768 prekey: kept as its 64-byte seed; the public key is derived when published. */
interface PrivateKemPrekey {
  id: number;
  seed: Bytes;
  signature: Bytes;
  /** Kept once derived (deriving costs a key generation); never stored. */
  publicKey?: Bytes;
}

interface KemPrekeyJSON {
  id: number;
  seed: string;
  signature: string;
}

interface PrekeyJSON {
  id: number;
  publicKey: string;
  privateKey: string;
  signature: string;
}

/** A device's private state, JSON-safe (includes private keys: store it like a password). */
export interface DeviceIdentityJSON {
  v: 1;
  identityKey: { publicKey: string; privateKey: string };
  identityDhKey: { publicKey: string; privateKey: string; signature: string };
  signedPrekey: PrekeyJSON;
  previousSignedPrekey: PrekeyJSON | null;
  oneTimePrekeys: PrekeyJSON[];
  nextOneTimePrekeyId: number;
  /** ML-KEM-768 prekeys; absent in a device made before PQXDH (it makes them on next start). */
  kemLastResortPrekey?: KemPrekeyJSON;
  previousKemLastResortPrekey?: KemPrekeyJSON | null;
  kemOneTimePrekeys?: KemPrekeyJSON[];
  nextKemPrekeyId?: number;
}

// Domain-separated messages the identity key signs.
const LABEL_IDENTITY_DH = utf8("natter identity dh key v1\0");
const LABEL_SIGNED_PREKEY = utf8("natter signed prekey v1\0");
const LABEL_ONE_TIME_PREKEY = utf8("natter one-time prekey v1\0");
const LABEL_KEM_LAST_RESORT_PREKEY = utf8("natter kem last-resort prekey v1\0");
const LABEL_KEM_ONE_TIME_PREKEY = utf8("natter kem one-time prekey v1\0");
/** EncodeKEM's one-byte tag for the KEM (PQXDH §2.1): ML-KEM-768. */
const KEM_ML_KEM_768 = 0x01;

/** The two kinds of KEM prekey; the initial message names which one it used. */
export type KemPrekeyKind = "lastResort" | "oneTime";

export function identityDhMessage(dhPublic: Bytes): Bytes {
  return new Writer().bytes(LABEL_IDENTITY_DH).bytes(dhPublic).finish();
}

function prekeyMessage(kind: "signed" | "oneTime", id: number, publicKey: Bytes): Bytes {
  return new Writer()
    .bytes(kind === "signed" ? LABEL_SIGNED_PREKEY : LABEL_ONE_TIME_PREKEY)
    .u32(id)
    .bytes(publicKey)
    .finish();
}

function kemPrekeyMessage(kind: KemPrekeyKind, id: number, publicKey: Bytes): Bytes {
  return new Writer()
    .bytes(kind === "lastResort" ? LABEL_KEM_LAST_RESORT_PREKEY : LABEL_KEM_ONE_TIME_PREKEY)
    .u32(id)
    .u8(KEM_ML_KEM_768)
    .bytes(publicKey)
    .finish();
}

async function makeKemPrekey(p: Primitives, identitySeed: Bytes, kind: KemPrekeyKind, id: number): Promise<{ key: PrivateKemPrekey; published: SignedPrekey }> {
  const { seed, publicKey } = kemKeyPairFromSeed(p.randomBytes(KEM_SEED_LENGTH));
  const signature = await p.ed25519Sign(identitySeed, kemPrekeyMessage(kind, id, publicKey));
  return { key: { id, seed, signature, publicKey }, published: { id, publicKey: toBase64url(publicKey), signature: toBase64url(signature) } };
}

function publicKemPrekey(k: PrivateKemPrekey): SignedPrekey {
  k.publicKey ??= kemKeyPairFromSeed(k.seed).publicKey;
  return { id: k.id, publicKey: toBase64url(k.publicKey), signature: toBase64url(k.signature) };
}

function kemPrekeyToJSON(k: PrivateKemPrekey): KemPrekeyJSON {
  return { id: k.id, seed: toBase64url(k.seed), signature: toBase64url(k.signature) };
}

function kemPrekeyFromJSON(v: unknown, path: string): PrivateKemPrekey {
  const o = obj(v, path);
  return { id: uint(o.id, `${path}.id`), seed: key(o.seed, KEM_SEED_LENGTH, `${path}.seed`), signature: key(o.signature, 64, `${path}.signature`) };
}

async function makePrekey(p: Primitives, identitySeed: Bytes, kind: "signed" | "oneTime", id: number): Promise<PrivatePrekey> {
  const keys = await p.x25519Generate();
  const signature = await p.ed25519Sign(identitySeed, prekeyMessage(kind, id, keys.publicKey));
  return { id, keys, signature };
}

function publicPrekey(k: PrivatePrekey): SignedPrekey {
  return { id: k.id, publicKey: toBase64url(k.keys.publicKey), signature: toBase64url(k.signature) };
}

function prekeyToJSON(k: PrivatePrekey): PrekeyJSON {
  return { ...publicPrekey(k), privateKey: toBase64url(k.keys.privateKey) };
}

function prekeyFromJSON(v: unknown, path: string): PrivatePrekey {
  const o = obj(v, path);
  return {
    id: uint(o.id, `${path}.id`),
    keys: { publicKey: key(o.publicKey, 32, `${path}.publicKey`), privateKey: key(o.privateKey, 32, `${path}.privateKey`) },
    signature: key(o.signature, 64, `${path}.signature`),
  };
}

/** Parsed, verified prekey (raw bytes). */
export interface VerifiedPrekey {
  id: number;
  publicKey: Bytes;
}

async function verifyPrekey(p: Primitives, identityKey: Bytes, kind: "signed" | "oneTime", v: unknown, path: string): Promise<VerifiedPrekey> {
  const o = obj(v, path, "BAD_BUNDLE");
  const id = uint(o.id, `${path}.id`, "BAD_BUNDLE");
  const publicKey = key(o.publicKey, 32, `${path}.publicKey`, "BAD_BUNDLE");
  const signature = key(o.signature, 64, `${path}.signature`, "BAD_BUNDLE");
  if (!(await p.ed25519Verify(identityKey, prekeyMessage(kind, id, publicKey), signature))) {
    throw new CryptoError("BAD_SIGNATURE", `${path}: bad signature`);
  }
  return { id, publicKey };
}

async function verifyKemPrekey(p: Primitives, identityKey: Bytes, kind: KemPrekeyKind, v: unknown, path: string): Promise<VerifiedPrekey> {
  const o = obj(v, path, "BAD_BUNDLE");
  const id = uint(o.id, `${path}.id`, "BAD_BUNDLE");
  const publicKey = key(o.publicKey, KEM_PUBLIC_KEY_LENGTH, `${path}.publicKey`, "BAD_BUNDLE");
  const signature = key(o.signature, 64, `${path}.signature`, "BAD_BUNDLE");
  if (!(await p.ed25519Verify(identityKey, kemPrekeyMessage(kind, id, publicKey), signature))) {
    throw new CryptoError("BAD_SIGNATURE", `${path}: bad signature`);
  }
  return { id, publicKey };
}

/** Shape-checked and verified common part of both bundle kinds. */
export interface VerifiedIdentity {
  identityKey: Bytes;
  identityDhKey: Bytes;
  signedPrekey: VerifiedPrekey;
}

async function verifyIdentityPart(p: Primitives, o: Record<string, unknown>): Promise<VerifiedIdentity> {
  if (o.v !== 1) throw new CryptoError("UNSUPPORTED_VERSION", "bundle: unsupported version");
  const identityKey = key(o.identityKey, 32, "bundle.identityKey", "BAD_BUNDLE");
  const identityDhKey = key(o.identityDhKey, 32, "bundle.identityDhKey", "BAD_BUNDLE");
  const identityDhSignature = key(o.identityDhSignature, 64, "bundle.identityDhSignature", "BAD_BUNDLE");
  if (!(await p.ed25519Verify(identityKey, identityDhMessage(identityDhKey), identityDhSignature))) {
    throw new CryptoError("BAD_SIGNATURE", "bundle.identityDhSignature: bad signature");
  }
  const signedPrekey = await verifyPrekey(p, identityKey, "signed", o.signedPrekey, "bundle.signedPrekey");
  return { identityKey, identityDhKey, signedPrekey };
}

function cleanPrekey(v: unknown): SignedPrekey {
  const o = v as SignedPrekey;
  return { id: o.id, publicKey: o.publicKey, signature: o.signature };
}

/** Shape-checks a public bundle and verifies every signature in it. BAD_BUNDLE / BAD_SIGNATURE / UNSUPPORTED_VERSION. */
export async function verifyBundle(p: Primitives, bundle: unknown): Promise<PublicBundle> {
  const o = obj(bundle, "bundle", "BAD_BUNDLE");
  await verifyIdentityPart(p, o);
  const identityKey = key(o.identityKey, 32, "bundle.identityKey", "BAD_BUNDLE");
  const list = arr(o.oneTimePrekeys, "bundle.oneTimePrekeys", "BAD_BUNDLE", 10_000);
  await Promise.all(list.map((k, i) => verifyPrekey(p, identityKey, "oneTime", k, `bundle.oneTimePrekeys[${i}]`)));
  const kemList = o.kemOneTimePrekeys === undefined ? [] : arr(o.kemOneTimePrekeys, "bundle.kemOneTimePrekeys", "BAD_BUNDLE", 10_000);
  await Promise.all(kemList.map((k, i) => verifyKemPrekey(p, identityKey, "oneTime", k, `bundle.kemOneTimePrekeys[${i}]`)));
  if (o.kemLastResortPrekey !== undefined) await verifyKemPrekey(p, identityKey, "lastResort", o.kemLastResortPrekey, "bundle.kemLastResortPrekey");
  const out: PublicBundle = {
    v: 1,
    identityKey: o.identityKey as string,
    identityDhKey: o.identityDhKey as string,
    identityDhSignature: o.identityDhSignature as string,
    signedPrekey: cleanPrekey(o.signedPrekey),
    oneTimePrekeys: list.map(cleanPrekey),
  };
  if (o.kemLastResortPrekey !== undefined) out.kemLastResortPrekey = cleanPrekey(o.kemLastResortPrekey);
  if (o.kemOneTimePrekeys !== undefined) out.kemOneTimePrekeys = kemList.map(cleanPrekey);
  return out;
}

/** Shape-checks a claimed prekey bundle and verifies every signature in it. */
export async function verifyPrekeyBundle(p: Primitives, bundle: unknown): Promise<PrekeyBundle> {
  return (await parsePrekeyBundle(p, bundle)).bundle;
}

/** @internal verifyPrekeyBundle plus the decoded keys. */
export async function parsePrekeyBundle(
  p: Primitives,
  bundle: unknown,
): Promise<{ bundle: PrekeyBundle; keys: VerifiedIdentity & { oneTimePrekey: VerifiedPrekey | null; kemPrekey: (VerifiedPrekey & { kind: KemPrekeyKind }) | null } }> {
  const o = obj(bundle, "bundle", "BAD_BUNDLE");
  const base = await verifyIdentityPart(p, o);
  const oneTimePrekey =
    o.oneTimePrekey === undefined ? null : await verifyPrekey(p, base.identityKey, "oneTime", o.oneTimePrekey, "bundle.oneTimePrekey");
  const kemOneTime =
    o.kemOneTimePrekey === undefined ? null : await verifyKemPrekey(p, base.identityKey, "oneTime", o.kemOneTimePrekey, "bundle.kemOneTimePrekey");
  const kemLastResort =
    o.kemLastResortPrekey === undefined ? null : await verifyKemPrekey(p, base.identityKey, "lastResort", o.kemLastResortPrekey, "bundle.kemLastResortPrekey");
  const kemPrekey = kemOneTime ? { ...kemOneTime, kind: "oneTime" as const } : kemLastResort ? { ...kemLastResort, kind: "lastResort" as const } : null;
  const out: PrekeyBundle = {
    v: 1,
    identityKey: o.identityKey as string,
    identityDhKey: o.identityDhKey as string,
    identityDhSignature: o.identityDhSignature as string,
    signedPrekey: cleanPrekey(o.signedPrekey),
  };
  if (o.oneTimePrekey !== undefined) out.oneTimePrekey = cleanPrekey(o.oneTimePrekey);
  if (o.kemLastResortPrekey !== undefined) out.kemLastResortPrekey = cleanPrekey(o.kemLastResortPrekey);
  if (o.kemOneTimePrekey !== undefined) out.kemOneTimePrekey = cleanPrekey(o.kemOneTimePrekey);
  return { bundle: out, keys: { ...base, oneTimePrekey, kemPrekey } };
}

/**
 * A device's long-term keys: Ed25519 identity, signed X25519 identity, signed prekey and
 * one-time prekeys, and the ML-KEM-768 prekeys of PQXDH (a signed last-resort one, rotated
 * with the signed prekey, and signed one-time ones).
 */
export class DeviceIdentity {
  readonly identityKey: string;

  private constructor(
    private readonly p: Primitives,
    private readonly identity: KeyPair,
    private readonly identityDh: KeyPair & { signature: Bytes },
    private signedPrekey: PrivatePrekey,
    private previousSignedPrekey: PrivatePrekey | null,
    private readonly oneTimePrekeys: Map<number, PrivatePrekey>,
    private nextOneTimePrekeyId: number,
    private kemLastResort: PrivateKemPrekey | null,
    private previousKemLastResort: PrivateKemPrekey | null,
    private readonly kemOneTimePrekeys: Map<number, PrivateKemPrekey>,
    private nextKemPrekeyId: number,
  ) {
    this.identityKey = toBase64url(identity.publicKey);
  }

  /**
   * New identity with a signed prekey, `oneTimePrekeys` (default 100) one-time prekeys, a
   * last-resort KEM prekey and `kemPrekeys` (default: as many as `oneTimePrekeys`) one-time KEM prekeys.
   */
  static async generate(p: Primitives, opts?: { oneTimePrekeys?: number; kemPrekeys?: number }): Promise<DeviceIdentity> {
    const identity = await p.ed25519Generate();
    const dh = await p.x25519Generate();
    const signature = await p.ed25519Sign(identity.privateKey, identityDhMessage(dh.publicKey));
    const spk = await makePrekey(p, identity.privateKey, "signed", 1);
    const device = new DeviceIdentity(p, identity, { ...dh, signature }, spk, null, new Map(), 1, null, null, new Map(), 1);
    await device.generateOneTimePrekeys(opts?.oneTimePrekeys ?? 100);
    await device.addKemPrekeys(opts?.kemPrekeys ?? opts?.oneTimePrekeys ?? 100);
    return device;
  }

  /** The bundle to publish, with every unused one-time prekey. */
  publicBundle(): PublicBundle {
    return {
      v: 1,
      identityKey: this.identityKey,
      identityDhKey: toBase64url(this.identityDh.publicKey),
      identityDhSignature: toBase64url(this.identityDh.signature),
      signedPrekey: publicPrekey(this.signedPrekey),
      oneTimePrekeys: [...this.oneTimePrekeys.values()].map(publicPrekey),
      ...(this.kemLastResort ? { kemLastResortPrekey: publicKemPrekey(this.kemLastResort) } : {}),
      kemOneTimePrekeys: [...this.kemOneTimePrekeys.values()].map(publicKemPrekey),
    };
  }

  /** Makes `n` one-time prekeys with fresh ids, keeps their private keys and returns the public halves. */
  async generateOneTimePrekeys(n: number): Promise<SignedPrekey[]> {
    if (!Number.isInteger(n) || n < 0 || n > 10_000) throw new CryptoError("MALFORMED", "prekey count out of range");
    if (this.nextOneTimePrekeyId + n > 0xffffffff) throw new CryptoError("MALFORMED", "prekey ids exhausted");
    const first = this.nextOneTimePrekeyId;
    const made = await Promise.all(Array.from({ length: n }, (_, i) => makePrekey(this.p, this.identity.privateKey, "oneTime", first + i)));
    this.nextOneTimePrekeyId = first + n;
    for (const k of made) this.oneTimePrekeys.set(k.id, k);
    return made.map(publicPrekey);
  }

  /**
   * Replaces the signed prekey and the last-resort KEM prekey together; the previous ones'
   * private keys are kept so in-flight initial messages still open.
   */
  async rotateSignedPrekey(): Promise<{ signedPrekey: SignedPrekey; kemLastResortPrekey: SignedPrekey }> {
    const next = await makePrekey(this.p, this.identity.privateKey, "signed", (this.signedPrekey.id + 1) >>> 0);
    this.previousSignedPrekey = this.signedPrekey;
    this.signedPrekey = next;
    return { signedPrekey: publicPrekey(next), kemLastResortPrekey: await this.rotateKemLastResortPrekey() };
  }

  /**
   * A new last-resort KEM prekey (the first one, for a device made before PQXDH); the
   * previous one's private key is kept for initial messages already in flight.
   */
  async rotateKemLastResortPrekey(): Promise<SignedPrekey> {
    const id = this.kemLastResort ? (this.kemLastResort.id + 1) >>> 0 : 1;
    const { key: next, published } = await makeKemPrekey(this.p, this.identity.privateKey, "lastResort", id);
    this.previousKemLastResort = this.kemLastResort;
    this.kemLastResort = next;
    return published;
  }

  /** Makes `n` one-time KEM prekeys with fresh ids, keeps their seeds and returns the public halves. */
  async addKemPrekeys(n: number): Promise<SignedPrekey[]> {
    if (!Number.isInteger(n) || n < 0 || n > 10_000) throw new CryptoError("MALFORMED", "prekey count out of range");
    if (this.nextKemPrekeyId + n > 0xffffffff) throw new CryptoError("MALFORMED", "prekey ids exhausted");
    if (!this.kemLastResort) await this.rotateKemLastResortPrekey();
    const first = this.nextKemPrekeyId;
    const made = await Promise.all(Array.from({ length: n }, (_, i) => makeKemPrekey(this.p, this.identity.privateKey, "oneTime", first + i)));
    this.nextKemPrekeyId = first + n;
    for (const { key: k } of made) this.kemOneTimePrekeys.set(k.id, k);
    return made.map((m) => m.published);
  }

  oneTimePrekeyCount(): number {
    return this.oneTimePrekeys.size;
  }

  kemOneTimePrekeyCount(): number {
    return this.kemOneTimePrekeys.size;
  }

  /** The signed prekey as published. */
  currentSignedPrekey(): SignedPrekey {
    return publicPrekey(this.signedPrekey);
  }

  /** The published last-resort KEM prekey; null for a device made before PQXDH that has not made one yet. */
  kemLastResortPrekey(): SignedPrekey | null {
    return this.kemLastResort && publicKemPrekey(this.kemLastResort);
  }

  /** @internal */
  get identityKeyPair(): KeyPair {
    return this.identity;
  }

  /** @internal */
  get identityDhKeyPair(): KeyPair & { signature: Bytes } {
    return this.identityDh;
  }

  /** @internal A signed prekey still held (current or previous). */
  signedPrekeyPair(id: number): KeyPair | null {
    for (const k of [this.signedPrekey, this.previousSignedPrekey]) if (k && k.id === id) return k.keys;
    return null;
  }

  /** @internal */
  oneTimePrekeyPrivate(id: number): Bytes | null {
    return this.oneTimePrekeys.get(id)?.keys.privateKey ?? null;
  }

  /** @internal Called once the initial message that used it has been decrypted. */
  consumeOneTimePrekey(id: number): void {
    this.oneTimePrekeys.delete(id);
  }

  /** @internal The seed of a KEM prekey still held: a one-time one, or the current or previous last-resort one. */
  kemPrekeySeed(kind: KemPrekeyKind, id: number): Bytes | null {
    if (kind === "oneTime") return this.kemOneTimePrekeys.get(id)?.seed ?? null;
    for (const k of [this.kemLastResort, this.previousKemLastResort]) if (k && k.id === id) return k.seed;
    return null;
  }

  /** @internal Called once the initial message that used it has been decrypted: a one-time KEM prekey opens one session. */
  consumeKemOneTimePrekey(id: number): void {
    this.kemOneTimePrekeys.delete(id);
  }

  toJSON(): DeviceIdentityJSON {
    return {
      v: 1,
      identityKey: { publicKey: this.identityKey, privateKey: toBase64url(this.identity.privateKey) },
      identityDhKey: {
        publicKey: toBase64url(this.identityDh.publicKey),
        privateKey: toBase64url(this.identityDh.privateKey),
        signature: toBase64url(this.identityDh.signature),
      },
      signedPrekey: prekeyToJSON(this.signedPrekey),
      previousSignedPrekey: this.previousSignedPrekey ? prekeyToJSON(this.previousSignedPrekey) : null,
      oneTimePrekeys: [...this.oneTimePrekeys.values()].map(prekeyToJSON),
      nextOneTimePrekeyId: this.nextOneTimePrekeyId,
      ...(this.kemLastResort ? { kemLastResortPrekey: kemPrekeyToJSON(this.kemLastResort) } : {}),
      previousKemLastResortPrekey: this.previousKemLastResort ? kemPrekeyToJSON(this.previousKemLastResort) : null,
      kemOneTimePrekeys: [...this.kemOneTimePrekeys.values()].map(kemPrekeyToJSON),
      nextKemPrekeyId: this.nextKemPrekeyId,
    };
  }

  /** Restores a device from `toJSON()` output; MALFORMED / UNSUPPORTED_VERSION on anything off. */
  static async fromJSON(p: Primitives, json: unknown): Promise<DeviceIdentity> {
    const o = obj(json, "device");
    version(o.v, "device.v");
    const ik = obj(o.identityKey, "device.identityKey");
    const identity = { publicKey: key(ik.publicKey, 32, "device.identityKey.publicKey"), privateKey: key(ik.privateKey, 32, "device.identityKey.privateKey") };
    const dk = obj(o.identityDhKey, "device.identityDhKey");
    const identityDh = {
      publicKey: key(dk.publicKey, 32, "device.identityDhKey.publicKey"),
      privateKey: key(dk.privateKey, 32, "device.identityDhKey.privateKey"),
      signature: key(dk.signature, 64, "device.identityDhKey.signature"),
    };
    const spk = prekeyFromJSON(o.signedPrekey, "device.signedPrekey");
    const prev = o.previousSignedPrekey === null ? null : prekeyFromJSON(o.previousSignedPrekey, "device.previousSignedPrekey");
    const otks = new Map<number, PrivatePrekey>();
    arr(o.oneTimePrekeys, "device.oneTimePrekeys").forEach((v, i) => {
      const k = prekeyFromJSON(v, `device.oneTimePrekeys[${i}]`);
      otks.set(k.id, k);
    });
    const next = uint(o.nextOneTimePrekeyId, "device.nextOneTimePrekeyId");
    // A device made before PQXDH has no KEM prekeys: it gets them on its next start.
    const kemLastResort = o.kemLastResortPrekey === undefined ? null : kemPrekeyFromJSON(o.kemLastResortPrekey, "device.kemLastResortPrekey");
    const prevKem =
      o.previousKemLastResortPrekey === undefined || o.previousKemLastResortPrekey === null
        ? null
        : kemPrekeyFromJSON(o.previousKemLastResortPrekey, "device.previousKemLastResortPrekey");
    const kemOtks = new Map<number, PrivateKemPrekey>();
    (o.kemOneTimePrekeys === undefined ? [] : arr(o.kemOneTimePrekeys, "device.kemOneTimePrekeys")).forEach((v, i) => {
      const k = kemPrekeyFromJSON(v, `device.kemOneTimePrekeys[${i}]`);
      kemOtks.set(k.id, k);
    });
    const nextKem = o.nextKemPrekeyId === undefined ? 1 : uint(o.nextKemPrekeyId, "device.nextKemPrekeyId");
    // The private halves must match the public ones we would publish.
    const [idPub, dhPub] = await Promise.all([p.ed25519PublicKey(identity.privateKey), p.x25519PublicKey(identityDh.privateKey)]);
    if (!equalBytes(idPub, identity.publicKey) || !equalBytes(dhPub, identityDh.publicKey)) {
      throw new CryptoError("MALFORMED", "device: private and public keys do not match");
    }
    return new DeviceIdentity(p, identity, identityDh, spk, prev, otks, next, kemLastResort, prevKem, kemOtks, nextKem);
  }
}
