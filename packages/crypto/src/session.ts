import { type Bytes, Reader, Writer, concat, equalBytes, toBase64url, utf8 } from "./bytes.ts";
import { CryptoError, isCryptoError } from "./errors.ts";
import { type DeviceIdentity, type PrekeyBundle, identityDhMessage, parsePrekeyBundle } from "./identity.ts";
import { bool, key, obj, str, version } from "./json.ts";
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

export const WIRE_VERSION = 1;
const TYPE_INITIAL = 0x01;
const TYPE_MESSAGE = 0x02;
const NO_ONE_TIME_PREKEY = 0;

const X3DH_INFO = utf8("natter X3DH v1");
const X3DH_F = new Uint8Array(32).fill(0xff);
const ZERO32 = new Uint8Array(32);

/** The X3DH fields an initial message carries so the responder can derive the same secret. */
interface InitialHeader {
  identityKey: Bytes;
  identityDhKey: Bytes;
  identityDhSignature: Bytes;
  baseKey: Bytes;
  signedPrekeyId: number;
  oneTimePrekeyId: number | null;
}

interface Parsed {
  initial: InitialHeader | null;
  header: Header;
  /** Every byte before the ciphertext: authenticated as associated data. */
  prefix: Bytes;
  ciphertext: Bytes;
}

function writeInitial(h: InitialHeader): Bytes {
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
    .finish();
}

function writeHeader(h: Header): Bytes {
  return new Writer().bytes(h.dh).u32(h.pn).u32(h.n).finish();
}

function parse(wire: Bytes): Parsed {
  if (!(wire instanceof Uint8Array)) throw new CryptoError("MALFORMED", "expected bytes");
  const r = new Reader(wire);
  const v = r.u8();
  if (v !== WIRE_VERSION) throw new CryptoError("UNSUPPORTED_VERSION", "unsupported message version");
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
    initial = { identityKey, identityDhKey, identityDhSignature, baseKey, signedPrekeyId, oneTimePrekeyId: flag ? otk : null };
  } else if (type !== TYPE_MESSAGE) {
    throw new CryptoError("MALFORMED", "unknown message type");
  }
  const header = { dh: r.bytes(32), pn: r.u32(), n: r.u32() };
  const prefix = wire.subarray(0, r.offset);
  const ciphertext = r.rest();
  if (ciphertext.length < 16) throw new CryptoError("MALFORMED", "truncated message");
  return { initial, header, prefix, ciphertext };
}

/** X3DH associated data: both parties' identity keys, initiator first. */
function x3dhAd(initiatorId: Bytes, initiatorDh: Bytes, responderId: Bytes, responderDh: Bytes): Bytes {
  return concat(initiatorId, initiatorDh, responderId, responderDh);
}

async function x3dhSecret(p: Primitives, dhs: Bytes[]): Promise<Bytes> {
  return p.hkdfSha256(concat(X3DH_F, ...dhs), ZERO32, X3DH_INFO, 32);
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
  localIdentityKey: string;
  remoteIdentityKey: string;
  ad: string;
  baseKey: string;
  /** The X3DH header we still send (initiator, until the first reply is decrypted). */
  pendingInitial: string | null;
  initiator: boolean;
  ratchet: RatchetStateJSON;
}

/** A 1:1 session with one device of a peer: X3DH then the Double Ratchet. */
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
  ) {
    this.remoteIdentityKey = toBase64url(remoteIdentity);
  }

  /**
   * Starts a session from a claimed prekey bundle (X3DH, initiator side). Verifies every
   * signature first: BAD_BUNDLE / BAD_SIGNATURE; IDENTITY_MISMATCH when `expectedIdentityKey`
   * is given and differs.
   */
  static async initiate(p: Primitives, me: DeviceIdentity, theirs: PrekeyBundle, opts?: { expectedIdentityKey?: string }): Promise<Session> {
    const { keys } = await parsePrekeyBundle(p, theirs);
    if (opts?.expectedIdentityKey !== undefined && opts.expectedIdentityKey !== toBase64url(keys.identityKey)) {
      throw new CryptoError("IDENTITY_MISMATCH", "the bundle belongs to another identity");
    }
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
      const sk = await x3dhSecret(p, dhs);
      const state = await initAlice(p, sk, keys.signedPrekey.publicKey);
      const initial = writeInitial({
        identityKey: myId.publicKey,
        identityDhKey: myDh.publicKey,
        identityDhSignature: myDh.signature,
        baseKey: ek.publicKey,
        signedPrekeyId: keys.signedPrekey.id,
        oneTimePrekeyId: keys.oneTimePrekey?.id ?? null,
      });
      const ad = x3dhAd(myId.publicKey, myDh.publicKey, keys.identityKey, keys.identityDhKey);
      return new Session(p, me.identityKey, keys.identityKey, ad, ek.publicKey, initial, true, state);
    } catch (cause) {
      // The provider refuses low-order public keys: the bundle is unusable.
      throw new CryptoError("BAD_BUNDLE", "bundle keys rejected", { cause });
    }
  }

  /**
   * Accepts an initial message (X3DH, responder side) and decrypts it. On success the
   * one-time prekey it used is removed from `me` (the caller persists `me`); on failure
   * nothing changes. NO_PREKEY when the prekey it names is gone (e.g. already used).
   */
  static async accept(p: Primitives, me: DeviceIdentity, wire: Bytes, opts?: { expectedIdentityKey?: string }): Promise<{ session: Session; plaintext: Bytes }> {
    try {
      const m = parse(wire);
      if (!m.initial) throw new CryptoError("MALFORMED", "not an initial message");
      const h = m.initial;
      if (opts?.expectedIdentityKey !== undefined && opts.expectedIdentityKey !== toBase64url(h.identityKey)) {
        throw new CryptoError("IDENTITY_MISMATCH", "message from another identity");
      }
      if (!(await p.ed25519Verify(h.identityKey, identityDhMessage(h.identityDhKey), h.identityDhSignature))) {
        throw new CryptoError("DECRYPT_FAILED");
      }
      const spk = me.signedPrekeyPair(h.signedPrekeyId);
      const otk = h.oneTimePrekeyId === null ? null : me.oneTimePrekeyPrivate(h.oneTimePrekeyId);
      if (!spk || (h.oneTimePrekeyId !== null && !otk)) throw new CryptoError("NO_PREKEY", "the prekey this message uses is gone");
      const myDh = me.identityDhKeyPair;
      const dhs = await Promise.all([
        p.x25519(spk.privateKey, h.identityDhKey),
        p.x25519(myDh.privateKey, h.baseKey),
        p.x25519(spk.privateKey, h.baseKey),
        ...(otk ? [p.x25519(otk, h.baseKey)] : []),
      ]);
      const sk = await x3dhSecret(p, dhs);
      const ad = x3dhAd(h.identityKey, h.identityDhKey, me.identityKeyPair.publicKey, myDh.publicKey);
      const session = new Session(p, me.identityKey, h.identityKey.slice(), ad, h.baseKey.slice(), null, false, initBob(sk, spk));
      const plaintext = await session.open(m);
      if (h.oneTimePrekeyId !== null) me.consumeOneTimePrekey(h.oneTimePrekeyId);
      return { session, plaintext };
    } catch (e) {
      throw collapse(e);
    }
  }

  /** True when `wire` is an initial (X3DH) message, to be given to `Session.accept` unless a session with its sender exists. */
  static isInitialMessage(wire: Bytes): boolean {
    return wire instanceof Uint8Array && wire.length > 2 && wire[0] === WIRE_VERSION && wire[1] === TYPE_INITIAL;
  }

  /**
   * The X3DH base key of an initial message (base64url), read without opening it, so a
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

  /** Encrypts one message; the wire carries the X3DH header until the peer's first reply is decrypted. */
  async encrypt(plaintext: Bytes): Promise<Bytes> {
    const { header, mk, commit } = await nextSendingKey(this.p, this.state);
    const prefix = concat(this.pendingInitial ?? Uint8Array.of(WIRE_VERSION, TYPE_MESSAGE), writeHeader(header));
    const { key: k, iv } = await messageKeys(this.p, mk);
    const ct = await this.p.aesGcmEncrypt(k, iv, plaintext, concat(this.ad, prefix));
    commit();
    return concat(prefix, ct);
  }

  /**
   * Decrypts one message of this session (also a repeated initial message with this
   * session's X3DH base key). Transactional: on any failure the state is unchanged.
   * DECRYPT_FAILED, DUPLICATE_MESSAGE, TOO_MANY_SKIPPED, IDENTITY_MISMATCH.
   */
  async decrypt(wire: Bytes): Promise<Bytes> {
    try {
      const m = parse(wire);
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
    };
  }

  /** Restores a session from `toJSON()` output; MALFORMED / UNSUPPORTED_VERSION. */
  static fromJSON(p: Primitives, json: unknown): Session {
    const o = obj(json, "session");
    version(o.v, "session.v");
    const local = key(str(o.localIdentityKey, "session.localIdentityKey"), 32, "session.localIdentityKey");
    const remote = key(o.remoteIdentityKey, 32, "session.remoteIdentityKey");
    const ad = key(o.ad, 128, "session.ad");
    const pending = o.pendingInitial === null ? null : key(o.pendingInitial, 2 + 32 + 32 + 64 + 32 + 4 + 1 + 4, "session.pendingInitial");
    return new Session(
      p,
      toBase64url(local),
      remote,
      ad,
      key(o.baseKey, 32, "session.baseKey"),
      pending,
      bool(o.initiator, "session.initiator"),
      ratchetFromJSON(o.ratchet),
    );
  }
}
