import { type Bytes, Reader, Writer, concat, equalBytes, toBase64url, utf8 } from "./bytes.ts";
import { CryptoError, isCryptoError } from "./errors.ts";
import { type DeviceIdentity, type KemPrekeyKind, type PrekeyBundle, identityDhMessage, parsePrekeyBundle } from "./identity.ts";
import { bool, key, obj, str, uint, version } from "./json.ts";
import { KEM_CIPHERTEXT_LENGTH, kemDecapsulate, kemEncapsulate } from "./kem.ts";
import type { Primitives } from "./primitives.ts";
import {
  type Header,
  type RatchetState,
  type RatchetStateJSON,
  initAlice,
  initBob,
  messageKeys,
  nextSendingKey,
  ratchetFromJSON,
  ratchetToJSON,
  receive,
} from "./ratchet.ts";

/**
 * Every message's first byte says how its session was set up: 1 for X3DH (sessions made
 * before PQXDH, which carry on), 2 for PQXDH. New sessions are PQXDH only, both ways.
 */
export const WIRE_VERSION_X3DH = 1;
export const WIRE_VERSION = 2;
type WireVersion = typeof WIRE_VERSION_X3DH | typeof WIRE_VERSION;
const TYPE_INITIAL = 0x01;
const TYPE_MESSAGE = 0x02;
const NO_ONE_TIME_PREKEY = 0;
const KEM_KIND_LAST_RESORT = 1;
const KEM_KIND_ONE_TIME = 2;

// PQXDH §2.1: info names the application, curve, hash and KEM; KDF input is F || KM (§2.2).
const PQXDH_INFO = utf8("natter PQXDH v1_CURVE25519_SHA-256_ML-KEM-768");
const KDF_F = new Uint8Array(32).fill(0xff);
const ZERO32 = new Uint8Array(32);

/** Bytes of an initial message before the ratchet header, by version. */
const X3DH_INITIAL_LENGTH = 2 + 32 + 32 + 64 + 32 + 4 + 1 + 4;
const PQXDH_INITIAL_LENGTH = X3DH_INITIAL_LENGTH + 1 + 4 + KEM_CIPHERTEXT_LENGTH;

/** The KEM prekey a PQXDH initial message used, and the ciphertext encapsulated to it. */
interface KemUse {
  kind: KemPrekeyKind;
  id: number;
  ciphertext: Bytes;
}

/** The fields an initial message carries so the responder can derive the same secret; `kem` is null for X3DH. */
interface InitialHeader {
  identityKey: Bytes;
  identityDhKey: Bytes;
  identityDhSignature: Bytes;
  baseKey: Bytes;
  signedPrekeyId: number;
  oneTimePrekeyId: number | null;
  kem: KemUse | null;
}

interface Parsed {
  version: WireVersion;
  initial: InitialHeader | null;
  header: Header;
  /** Every byte before the ciphertext: authenticated as associated data. */
  prefix: Bytes;
  ciphertext: Bytes;
}

function writeInitial(h: InitialHeader & { kem: KemUse }): Bytes {
  return new Writer()
    .u8(WIRE_VERSION)
    .u8(TYPE_INITIAL)
    .bytes(h.identityKey)
    .bytes(h.identityDhKey)
    .bytes(h.identityDhSignature)
    .bytes(h.baseKey)
    .u32(h.signedPrekeyId)
    .u8(h.oneTimePrekeyId === null ? NO_ONE_TIME_PREKEY : 1)
    .u32(h.oneTimePrekeyId ?? 0)
    .u8(h.kem.kind === "oneTime" ? KEM_KIND_ONE_TIME : KEM_KIND_LAST_RESORT)
    .u32(h.kem.id)
    .bytes(h.kem.ciphertext)
    .finish();
}

function writeHeader(h: Header): Bytes {
  return new Writer().bytes(h.dh).u32(h.pn).u32(h.n).finish();
}

function parse(wire: Bytes): Parsed {
  if (!(wire instanceof Uint8Array)) throw new CryptoError("MALFORMED", "expected bytes");
  const r = new Reader(wire);
  const v = r.u8();
  if (v !== WIRE_VERSION && v !== WIRE_VERSION_X3DH) throw new CryptoError("UNSUPPORTED_VERSION", "unsupported message version");
  const type = r.u8();
  let initial: InitialHeader | null = null;
  if (type === TYPE_INITIAL) {
    const identityKey = r.bytes(32);
    const identityDhKey = r.bytes(32);
    const identityDhSignature = r.bytes(64);
    const baseKey = r.bytes(32);
    const signedPrekeyId = r.u32();
    const flag = r.u8();
    const otk = r.u32();
    if (flag > 1 || (flag === 0 && otk !== 0)) throw new CryptoError("MALFORMED", "bad prekey flag");
    let kem: KemUse | null = null;
    if (v === WIRE_VERSION) {
      const kind = r.u8();
      if (kind !== KEM_KIND_ONE_TIME && kind !== KEM_KIND_LAST_RESORT) throw new CryptoError("MALFORMED", "bad kem prekey kind");
      kem = { kind: kind === KEM_KIND_ONE_TIME ? "oneTime" : "lastResort", id: r.u32(), ciphertext: r.bytes(KEM_CIPHERTEXT_LENGTH) };
    }
    initial = { identityKey, identityDhKey, identityDhSignature, baseKey, signedPrekeyId, oneTimePrekeyId: flag ? otk : null, kem };
  } else if (type !== TYPE_MESSAGE) {
    throw new CryptoError("MALFORMED", "unknown message type");
  }
  const header = { dh: r.bytes(32), pn: r.u32(), n: r.u32() };
  const prefix = wire.subarray(0, r.offset);
  const ciphertext = r.rest();
  if (ciphertext.length < 16) throw new CryptoError("MALFORMED", "truncated message");
  return { version: v, initial, header, prefix, ciphertext };
}

/** X3DH associated data: both parties' identity keys, initiator first. */
function x3dhAd(initiatorId: Bytes, initiatorDh: Bytes, responderId: Bytes, responderDh: Bytes): Bytes {
  return concat(initiatorId, initiatorDh, responderId, responderDh);
}

/** PQXDH: SK = KDF(DH1 ‖ DH2 ‖ DH3 [‖ DH4] ‖ SS), HKDF-SHA-256 over F ‖ KM with a zero salt. */
async function pqxdhSecret(p: Primitives, dhs: Bytes[], kemSecret: Bytes): Promise<Bytes> {
  return p.hkdfSha256(concat(KDF_F, ...dhs, kemSecret), ZERO32, PQXDH_INFO, 32);
}

/** The decryption error every failure collapses to, except the few a caller acts on. */
function collapse(e: unknown): CryptoError {
  if (isCryptoError(e) && ["DUPLICATE_MESSAGE", "TOO_MANY_SKIPPED", "IDENTITY_MISMATCH", "UNSUPPORTED_VERSION", "NO_PREKEY"].includes(e.code)) {
    return e;
  }
  return new CryptoError("DECRYPT_FAILED", "decryption failed");
}

export interface SessionJSON {
  v: 1;
  /** The wire version its messages carry (absent: 1, an X3DH session made before PQXDH). */
  wire?: WireVersion;
  localIdentityKey: string;
  remoteIdentityKey: string;
  ad: string;
  baseKey: string;
  /** The X3DH header we still send (initiator, until the first reply is decrypted). */
  pendingInitial: string | null;
  initiator: boolean;
  ratchet: RatchetStateJSON;
}

/** A 1:1 session with one device of a peer: PQXDH (X3DH for sessions made before it) then the Double Ratchet. */
export class Session {
  readonly remoteIdentityKey: string;

  private constructor(
    private readonly p: Primitives,
    private readonly localIdentityKey: string,
    private readonly remoteIdentity: Bytes,
    private readonly ad: Bytes,
    private readonly baseKey: Bytes,
    private pendingInitial: Bytes | null,
    private readonly initiator: boolean,
    private readonly state: RatchetState,
    private readonly wire: WireVersion,
  ) {
    this.remoteIdentityKey = toBase64url(remoteIdentity);
  }

  /**
   * Starts a session from a claimed prekey bundle (PQXDH, initiator side): encapsulates to
   * its one-time KEM prekey, or its last-resort one. Verifies every signature first:
   * BAD_BUNDLE / BAD_SIGNATURE; NO_KEM_PREKEY when the bundle has no KEM prekey (never a
   * classical-only session); IDENTITY_MISMATCH when `expectedIdentityKey` is given and differs.
   */
  static async initiate(p: Primitives, me: DeviceIdentity, theirs: PrekeyBundle, opts?: { expectedIdentityKey?: string }): Promise<Session> {
    const { keys } = await parsePrekeyBundle(p, theirs);
    if (opts?.expectedIdentityKey !== undefined && opts.expectedIdentityKey !== toBase64url(keys.identityKey)) {
      throw new CryptoError("IDENTITY_MISMATCH", "the bundle belongs to another identity");
    }
    const kemPrekey = keys.kemPrekey;
    if (!kemPrekey) throw new CryptoError("NO_KEM_PREKEY", "the bundle has no post-quantum prekey");
    const myId = me.identityKeyPair;
    const myDh = me.identityDhKeyPair;
    try {
      const ek = await p.x25519Generate();
      const dhs = await Promise.all([
        p.x25519(myDh.privateKey, keys.signedPrekey.publicKey),
        p.x25519(ek.privateKey, keys.identityDhKey),
        p.x25519(ek.privateKey, keys.signedPrekey.publicKey),
        ...(keys.oneTimePrekey ? [p.x25519(ek.privateKey, keys.oneTimePrekey.publicKey)] : []),
      ]);
      const { ciphertext, sharedSecret } = kemEncapsulate(kemPrekey.publicKey);
      const sk = await pqxdhSecret(p, dhs, sharedSecret);
      const state = await initAlice(p, sk, keys.signedPrekey.publicKey);
      const initial = writeInitial({
        identityKey: myId.publicKey,
        identityDhKey: myDh.publicKey,
        identityDhSignature: myDh.signature,
        baseKey: ek.publicKey,
        signedPrekeyId: keys.signedPrekey.id,
        oneTimePrekeyId: keys.oneTimePrekey?.id ?? null,
        kem: { kind: kemPrekey.kind, id: kemPrekey.id, ciphertext },
      });
      const ad = x3dhAd(myId.publicKey, myDh.publicKey, keys.identityKey, keys.identityDhKey);
      return new Session(p, me.identityKey, keys.identityKey, ad, ek.publicKey, initial, true, state, WIRE_VERSION);
    } catch (cause) {
      // The provider refuses low-order public keys: the bundle is unusable.
      throw new CryptoError("BAD_BUNDLE", "bundle keys rejected", { cause });
    }
  }

  /**
   * Accepts an initial message (PQXDH, responder side) and decrypts it. On success the
   * one-time prekeys it used (curve and KEM) are removed from `me` (the caller persists
   * `me`); on failure nothing changes. NO_PREKEY when a prekey it names is gone (e.g. a
   * one-time KEM prekey already used); UNSUPPORTED_VERSION for an X3DH initial message;
   * DECRYPT_FAILED for anything else, a KEM ciphertext for another key or altered included.
   */
  static async accept(p: Primitives, me: DeviceIdentity, wire: Bytes, opts?: { expectedIdentityKey?: string }): Promise<{ session: Session; plaintext: Bytes }> {
    try {
      const m = parse(wire);
      if (!m.initial) throw new CryptoError("MALFORMED", "not an initial message");
      const h = m.initial;
      if (!h.kem) throw new CryptoError("UNSUPPORTED_VERSION", "a session is never started without a KEM");
      const kem = h.kem;
      if (opts?.expectedIdentityKey !== undefined && opts.expectedIdentityKey !== toBase64url(h.identityKey)) {
        throw new CryptoError("IDENTITY_MISMATCH", "message from another identity");
      }
      if (!(await p.ed25519Verify(h.identityKey, identityDhMessage(h.identityDhKey), h.identityDhSignature))) {
        throw new CryptoError("DECRYPT_FAILED");
      }
      const spk = me.signedPrekeyPair(h.signedPrekeyId);
      const otk = h.oneTimePrekeyId === null ? null : me.oneTimePrekeyPrivate(h.oneTimePrekeyId);
      const kemSeed = me.kemPrekeySeed(kem.kind, kem.id);
      if (!spk || (h.oneTimePrekeyId !== null && !otk) || !kemSeed) throw new CryptoError("NO_PREKEY", "the prekey this message uses is gone");
      const myDh = me.identityDhKeyPair;
      const dhs = await Promise.all([
        p.x25519(spk.privateKey, h.identityDhKey),
        p.x25519(myDh.privateKey, h.baseKey),
        p.x25519(spk.privateKey, h.baseKey),
        ...(otk ? [p.x25519(otk, h.baseKey)] : []),
      ]);
      // A ciphertext for another key, or altered, decapsulates to an unrelated secret
      // (implicit rejection): the first message's authentication below refuses it.
      const sk = await pqxdhSecret(p, dhs, kemDecapsulate(kemSeed, kem.ciphertext));
      const ad = x3dhAd(h.identityKey, h.identityDhKey, me.identityKeyPair.publicKey, myDh.publicKey);
      const session = new Session(p, me.identityKey, h.identityKey.slice(), ad, h.baseKey.slice(), null, false, initBob(sk, spk), WIRE_VERSION);
      const plaintext = await session.open(m);
      if (h.oneTimePrekeyId !== null) me.consumeOneTimePrekey(h.oneTimePrekeyId);
      if (kem.kind === "oneTime") me.consumeKemOneTimePrekey(kem.id);
      return { session, plaintext };
    } catch (e) {
      throw collapse(e);
    }
  }

  /** True when `wire` is an initial message (PQXDH, or X3DH from before), to be given to `Session.accept` unless a session with its sender exists. */
  static isInitialMessage(wire: Bytes): boolean {
    return wire instanceof Uint8Array && wire.length > 2 && (wire[0] === WIRE_VERSION || wire[0] === WIRE_VERSION_X3DH) && wire[1] === TYPE_INITIAL;
  }

  /**
   * The base key of an initial message (base64url), read without opening it, so a
   * responder can recognise a first message it accepted before; undefined for anything else.
   */
  static initialBaseKey(wire: Bytes): string | undefined {
    try {
      const { initial } = parse(wire);
      return initial ? toBase64url(initial.baseKey) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Encrypts one message; the wire carries the initial header until the peer's first reply is decrypted. */
  async encrypt(plaintext: Bytes): Promise<Bytes> {
    const { header, mk, commit } = await nextSendingKey(this.p, this.state);
    const prefix = concat(this.pendingInitial ?? Uint8Array.of(this.wire, TYPE_MESSAGE), writeHeader(header));
    const { key: k, iv } = await messageKeys(this.p, mk);
    const ct = await this.p.aesGcmEncrypt(k, iv, plaintext, concat(this.ad, prefix));
    commit();
    return concat(prefix, ct);
  }

  /**
   * Decrypts one message of this session (also a repeated initial message with this
   * session's base key). Transactional: on any failure the state is unchanged.
   * DECRYPT_FAILED, DUPLICATE_MESSAGE, TOO_MANY_SKIPPED, IDENTITY_MISMATCH.
   */
  async decrypt(wire: Bytes): Promise<Bytes> {
    try {
      const m = parse(wire);
      if (m.version !== this.wire) throw new CryptoError("DECRYPT_FAILED");
      if (m.initial) {
        if (!equalBytes(m.initial.identityKey, this.remoteIdentity)) throw new CryptoError("IDENTITY_MISMATCH", "message from another identity");
        if (this.initiator || !equalBytes(m.initial.baseKey, this.baseKey)) throw new CryptoError("DECRYPT_FAILED");
      }
      const plaintext = await this.open(m);
      this.pendingInitial = null;
      return plaintext;
    } catch (e) {
      throw collapse(e);
    }
  }

  private open(m: Parsed): Promise<Bytes> {
    const aad = concat(this.ad, m.prefix);
    return receive(this.p, this.state, m.header, async (mk) => {
      const { key: k, iv } = await messageKeys(this.p, mk);
      return this.p.aesGcmDecrypt(k, iv, m.ciphertext, aad);
    });
  }

  toJSON(): SessionJSON {
    return {
      v: 1,
      localIdentityKey: this.localIdentityKey,
      remoteIdentityKey: this.remoteIdentityKey,
      ad: toBase64url(this.ad),
      baseKey: toBase64url(this.baseKey),
      pendingInitial: this.pendingInitial && toBase64url(this.pendingInitial),
      initiator: this.initiator,
      ratchet: ratchetToJSON(this.state),
      ...(this.wire === WIRE_VERSION_X3DH ? {} : { wire: this.wire }),
    };
  }

  /** Restores a session from `toJSON()` output; MALFORMED / UNSUPPORTED_VERSION. */
  static fromJSON(p: Primitives, json: unknown): Session {
    const o = obj(json, "session");
    version(o.v, "session.v");
    const local = key(str(o.localIdentityKey, "session.localIdentityKey"), 32, "session.localIdentityKey");
    const remote = key(o.remoteIdentityKey, 32, "session.remoteIdentityKey");
    const ad = key(o.ad, 128, "session.ad");
    const wire = o.wire === undefined ? WIRE_VERSION_X3DH : uint(o.wire, "session.wire");
    if (wire !== WIRE_VERSION_X3DH && wire !== WIRE_VERSION) throw new CryptoError("UNSUPPORTED_VERSION", "session.wire: unsupported version");
    const initialLength = wire === WIRE_VERSION ? PQXDH_INITIAL_LENGTH : X3DH_INITIAL_LENGTH;
    const pending = o.pendingInitial === null ? null : key(o.pendingInitial, initialLength, "session.pendingInitial");
    return new Session(
      p,
      toBase64url(local),
      remote,
      ad,
      key(o.baseKey, 32, "session.baseKey"),
      pending,
      bool(o.initiator, "session.initiator"),
      ratchetFromJSON(o.ratchet),
      wire,
    );
  }
}
