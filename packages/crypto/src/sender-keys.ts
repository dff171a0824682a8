// Sender keys in one file: the outbound key, the inbound keys of each sender and their
// one wire format read and written side by side, so a change to one shows in the other.
import { type Bytes, Reader, Writer, fromUtf8, toBase64url, utf8 } from "./bytes.ts";
import { CryptoError, isCryptoError } from "./errors.ts";
import { arr, key, obj, str, uint, version } from "./json.ts";
import type { KeyPair, Primitives } from "./primitives.ts";
import { kdfCk, messageKeys } from "./ratchet.ts";

const WIRE_VERSION = 1;
const TYPE_DISTRIBUTION = 0x10;
const TYPE_MESSAGE = 0x11;
const SIGNATURE_LENGTH = 64;
const INFO_MESSAGE = utf8("natter sender key message v1");

/** Most iterations one group message may jump ahead of the last one seen. */
export const MAX_SENDER_KEY_JUMP = 2000;
/** Most skipped group message keys kept per sender key; the oldest are evicted first. */
export const MAX_SENDER_KEY_SKIPPED = 2000;
/** How many of one sender's key ids are kept (the newest). */
export const MAX_SENDER_KEY_STATES = 5;
const MAX_GROUP_ID_BYTES = 256;

/** Routing fields of a group message, readable without any key. */
export interface SenderKeyMessageInfo {
  groupId: string;
  keyId: number;
  iteration: number;
}

interface ParsedMessage extends SenderKeyMessageInfo {
  header: Bytes;
  signed: Bytes;
  ciphertext: Bytes;
  signature: Bytes;
}

function groupIdBytes(groupId: string): Bytes {
  const b = utf8(groupId);
  if (typeof groupId !== "string" || b.length === 0 || b.length > MAX_GROUP_ID_BYTES) throw new CryptoError("MALFORMED", "bad group id");
  return b;
}

function parseMessage(wire: Bytes): ParsedMessage {
  if (!(wire instanceof Uint8Array)) throw new CryptoError("MALFORMED", "expected bytes");
  const r = new Reader(wire);
  if (r.u8() !== WIRE_VERSION) throw new CryptoError("UNSUPPORTED_VERSION", "unsupported message version");
  if (r.u8() !== TYPE_MESSAGE) throw new CryptoError("MALFORMED", "not a group message");
  const groupId = fromUtf8(r.var16());
  const keyId = r.u32();
  const iteration = r.u32();
  const header = wire.subarray(0, r.offset);
  if (r.remaining < 16 + SIGNATURE_LENGTH) throw new CryptoError("MALFORMED", "truncated message");
  const ciphertext = r.bytes(r.remaining - SIGNATURE_LENGTH);
  const signed = wire.subarray(0, r.offset);
  return { groupId, keyId, iteration, header, signed, ciphertext, signature: r.rest() };
}

/** The group id, key id and iteration of a group message, without decrypting it (for routing). */
export function senderKeyMessageInfo(wire: Bytes): SenderKeyMessageInfo {
  const { groupId, keyId, iteration } = parseMessage(wire);
  return { groupId, keyId, iteration };
}

/** The group id of a group message, without decrypting it. MALFORMED if it is not one. */
export function senderKeyGroupId(wire: Bytes): string {
  return parseMessage(wire).groupId;
}

interface Distribution {
  groupId: string;
  keyId: number;
  iteration: number;
  chainKey: Bytes;
  signingKey: Bytes;
}

function writeDistribution(d: Distribution): Bytes {
  return new Writer()
    .u8(WIRE_VERSION)
    .u8(TYPE_DISTRIBUTION)
    .var16(groupIdBytes(d.groupId))
    .u32(d.keyId)
    .u32(d.iteration)
    .bytes(d.chainKey)
    .bytes(d.signingKey)
    .finish();
}

function parseDistribution(wire: Bytes): Distribution {
  if (!(wire instanceof Uint8Array)) throw new CryptoError("MALFORMED", "expected bytes");
  const r = new Reader(wire);
  if (r.u8() !== WIRE_VERSION) throw new CryptoError("UNSUPPORTED_VERSION", "unsupported distribution version");
  if (r.u8() !== TYPE_DISTRIBUTION) throw new CryptoError("MALFORMED", "not a sender key distribution");
  const groupId = fromUtf8(r.var16());
  groupIdBytes(groupId);
  const d = { groupId, keyId: r.u32(), iteration: r.u32(), chainKey: r.bytes(32).slice(), signingKey: r.bytes(32).slice() };
  if (r.remaining !== 0) throw new CryptoError("MALFORMED", "trailing bytes");
  return d;
}

export interface OutboundSenderKeyJSON {
  v: 1;
  groupId: string;
  keyId: number;
  iteration: number;
  chainKey: string;
  signingKey: { publicKey: string; privateKey: string };
}

/** My sender key for one group: a chain key and an Ed25519 signing key (libsignal's sender keys). */
export class OutboundSenderKey {
  private constructor(
    private readonly p: Primitives,
    readonly groupId: string,
    readonly keyId: number,
    private iteration: number,
    private chainKey: Bytes,
    private readonly signing: KeyPair,
  ) {}

  static async create(p: Primitives, groupId: string): Promise<OutboundSenderKey> {
    groupIdBytes(groupId);
    const keyId = new DataView(p.randomBytes(4).buffer).getUint32(0);
    return new OutboundSenderKey(p, groupId, keyId, 0, p.randomBytes(32), await p.ed25519Generate());
  }

  /** The distribution message for the current chain position, to send over each member's 1:1 session. */
  distribution(): Bytes {
    return writeDistribution({ groupId: this.groupId, keyId: this.keyId, iteration: this.iteration, chainKey: this.chainKey, signingKey: this.signing.publicKey });
  }

  /** Encrypts and signs one group message. */
  async encrypt(plaintext: Bytes): Promise<Bytes> {
    if (this.iteration >= 0xffffffff) throw new CryptoError("MALFORMED", "sender key exhausted; rotate");
    const { mk, ck } = await kdfCk(this.p, this.chainKey);
    const header = new Writer().u8(WIRE_VERSION).u8(TYPE_MESSAGE).var16(utf8(this.groupId)).u32(this.keyId).u32(this.iteration).finish();
    const { key: k, iv } = await messageKeys(this.p, mk, INFO_MESSAGE);
    const ct = await this.p.aesGcmEncrypt(k, iv, plaintext, header);
    const signed = new Writer().bytes(header).bytes(ct).finish();
    const signature = await this.p.ed25519Sign(this.signing.privateKey, signed);
    this.chainKey = ck;
    this.iteration += 1;
    return new Writer().bytes(signed).bytes(signature).finish();
  }

  /** A brand-new sender key for the same group (new key id, chain and signing key): after a member leaves. */
  async rotate(): Promise<OutboundSenderKey> {
    let next = await OutboundSenderKey.create(this.p, this.groupId);
    while (next.keyId === this.keyId) next = await OutboundSenderKey.create(this.p, this.groupId);
    return next;
  }

  toJSON(): OutboundSenderKeyJSON {
    return {
      v: 1,
      groupId: this.groupId,
      keyId: this.keyId,
      iteration: this.iteration,
      chainKey: toBase64url(this.chainKey),
      signingKey: { publicKey: toBase64url(this.signing.publicKey), privateKey: toBase64url(this.signing.privateKey) },
    };
  }

  static fromJSON(p: Primitives, json: unknown): OutboundSenderKey {
    const o = obj(json, "senderKey");
    version(o.v, "senderKey.v");
    const groupId = str(o.groupId, "senderKey.groupId");
    groupIdBytes(groupId);
    const s = obj(o.signingKey, "senderKey.signingKey");
    return new OutboundSenderKey(
      p,
      groupId,
      uint(o.keyId, "senderKey.keyId"),
      uint(o.iteration, "senderKey.iteration"),
      key(o.chainKey, 32, "senderKey.chainKey"),
      { publicKey: key(s.publicKey, 32, "senderKey.signingKey.publicKey"), privateKey: key(s.privateKey, 32, "senderKey.signingKey.privateKey") },
    );
  }
}

interface InboundState {
  keyId: number;
  signingKey: Bytes;
  /** The first iteration this key could ever open: messages before it predate our copy. */
  start: number;
  iteration: number;
  chainKey: Bytes;
  skipped: Map<number, Bytes>;
}

export interface InboundSenderKeysJSON {
  v: 1;
  groupId: string;
  states: { keyId: number; signingKey: string; start: number; iteration: number; chainKey: string; skipped: [number, string][] }[];
}

/** One sender's keys in one group, as received in distribution messages (the newest few key ids). */
export class InboundSenderKeys {
  private constructor(
    private readonly p: Primitives,
    readonly groupId: string,
    private readonly states: InboundState[],
  ) {}

  static async fromDistribution(p: Primitives, distribution: Bytes): Promise<InboundSenderKeys> {
    const d = parseDistribution(distribution);
    const keys = new InboundSenderKeys(p, d.groupId, []);
    await keys.add(distribution);
    return keys;
  }

  /** Adds a (newer) key of this sender. A key id already held is left as it is. */
  async add(distribution: Bytes): Promise<void> {
    const d = parseDistribution(distribution);
    if (d.groupId !== this.groupId) throw new CryptoError("MALFORMED", "distribution for another group");
    if (this.states.some((s) => s.keyId === d.keyId)) return;
    this.states.push({ keyId: d.keyId, signingKey: d.signingKey, start: d.iteration, iteration: d.iteration, chainKey: d.chainKey, skipped: new Map() });
    while (this.states.length > MAX_SENDER_KEY_STATES) this.states.shift();
  }

  /** Key ids held, oldest first. */
  keyIds(): number[] {
    return this.states.map((s) => s.keyId);
  }

  /**
   * Verifies and decrypts one group message. Transactional. UNKNOWN_SENDER_KEY (no
   * distribution for its key id), BAD_SIGNATURE, DECRYPT_FAILED, DUPLICATE_MESSAGE, TOO_MANY_SKIPPED.
   */
  async decrypt(wire: Bytes): Promise<Bytes> {
    try {
      const m = parseMessage(wire);
      if (m.groupId !== this.groupId) throw new CryptoError("DECRYPT_FAILED");
      const st = this.states.find((s) => s.keyId === m.keyId);
      if (!st) throw new CryptoError("UNKNOWN_SENDER_KEY", "no sender key for this message");
      if (!(await this.p.ed25519Verify(st.signingKey, m.signed, m.signature))) throw new CryptoError("BAD_SIGNATURE", "bad signature");
      const open = async (mk: Bytes): Promise<Bytes> => {
        const { key: k, iv } = await messageKeys(this.p, mk, INFO_MESSAGE);
        return this.p.aesGcmDecrypt(k, iv, m.ciphertext, m.header);
      };
      if (m.iteration < st.iteration) {
        if (m.iteration < st.start) throw new CryptoError("DECRYPT_FAILED");
        const mk = st.skipped.get(m.iteration);
        if (!mk) throw new CryptoError("DUPLICATE_MESSAGE", "duplicate message");
        const pt = await open(mk);
        st.skipped.delete(m.iteration);
        return pt;
      }
      if (m.iteration - st.iteration > MAX_SENDER_KEY_JUMP) throw new CryptoError("TOO_MANY_SKIPPED", "too many skipped messages");
      let ck = st.chainKey;
      const skipped: [number, Bytes][] = [];
      for (let i = st.iteration; i < m.iteration; i++) {
        const step = await kdfCk(this.p, ck);
        skipped.push([i, step.mk]);
        ck = step.ck;
      }
      const step = await kdfCk(this.p, ck);
      const pt = await open(step.mk);
      for (const [i, mk] of skipped) st.skipped.set(i, mk);
      for (const i of st.skipped.keys()) {
        if (st.skipped.size <= MAX_SENDER_KEY_SKIPPED) break;
        st.skipped.delete(i);
      }
      st.chainKey = step.ck;
      st.iteration = m.iteration + 1;
      return pt;
    } catch (e) {
      if (isCryptoError(e) && ["BAD_SIGNATURE", "DUPLICATE_MESSAGE", "TOO_MANY_SKIPPED", "UNKNOWN_SENDER_KEY", "UNSUPPORTED_VERSION"].includes(e.code)) throw e;
      throw new CryptoError("DECRYPT_FAILED", "decryption failed");
    }
  }

  toJSON(): InboundSenderKeysJSON {
    return {
      v: 1,
      groupId: this.groupId,
      states: this.states.map((s) => ({
        keyId: s.keyId,
        signingKey: toBase64url(s.signingKey),
        start: s.start,
        iteration: s.iteration,
        chainKey: toBase64url(s.chainKey),
        skipped: [...s.skipped].map(([i, mk]) => [i, toBase64url(mk)] as [number, string]),
      })),
    };
  }

  static fromJSON(p: Primitives, json: unknown): InboundSenderKeys {
    const o = obj(json, "inboundSenderKeys");
    version(o.v, "inboundSenderKeys.v");
    const groupId = str(o.groupId, "inboundSenderKeys.groupId");
    groupIdBytes(groupId);
    const states = arr(o.states, "inboundSenderKeys.states", "MALFORMED", MAX_SENDER_KEY_STATES).map((v, i): InboundState => {
      const path = `inboundSenderKeys.states[${i}]`;
      const s = obj(v, path);
      const skipped = new Map<number, Bytes>();
      arr(s.skipped, `${path}.skipped`, "MALFORMED", MAX_SENDER_KEY_SKIPPED).forEach((e, j) => {
        const t = arr(e, `${path}.skipped[${j}]`);
        skipped.set(uint(t[0], `${path}.skipped[${j}][0]`), key(t[1], 32, `${path}.skipped[${j}][1]`));
      });
      return {
        keyId: uint(s.keyId, `${path}.keyId`),
        signingKey: key(s.signingKey, 32, `${path}.signingKey`),
        start: uint(s.start, `${path}.start`),
        iteration: uint(s.iteration, `${path}.iteration`),
        chainKey: key(s.chainKey, 32, `${path}.chainKey`),
        skipped,
      };
    });
    return new InboundSenderKeys(p, groupId, states);
  }
}
