import { type Bytes, concat, equalBytes } from "./bytes.ts";
import { CryptoError } from "./errors.ts";
import type { CryptoKey, Primitives } from "./primitives.ts";

export const ATTACHMENT_VERSION = 1;
export const DEFAULT_CHUNK_SIZE = 64 * 1024;
/** Largest chunk a decryptor accepts (bounds its memory). */
export const MAX_CHUNK_SIZE = 4 * 1024 * 1024;
const HEADER_LENGTH = 5;
const TAG_LENGTH = 16;

/**
 * The exact ciphertext size `encryptAttachment` makes from `plainSize` bytes: the header,
 * then every chunk with its tag (an empty file still has one, empty, final chunk). Lets a
 * sender announce an upload's size before encrypting it.
 */
export function encryptedSize(plainSize: number, chunkSize: number = DEFAULT_CHUNK_SIZE): number {
  if (!Number.isSafeInteger(plainSize) || plainSize < 0) throw new CryptoError("MALFORMED", "size out of range");
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) throw new CryptoError("MALFORMED", "chunk size out of range");
  const chunks = Math.max(1, Math.ceil(plainSize / chunkSize));
  return HEADER_LENGTH + plainSize + chunks * TAG_LENGTH;
}

/** A fresh random 32-byte key for one file. */
export function generateAttachmentKey(p: Primitives): Bytes {
  return p.randomBytes(32);
}

function header(chunkSize: number): Bytes {
  const h = new Uint8Array(HEADER_LENGTH);
  h[0] = ATTACHMENT_VERSION;
  new DataView(h.buffer).setUint32(1, chunkSize);
  return h;
}

/** Nonce = 4 zero bytes || u64 chunk index; AAD = header || u64 chunk index || final flag. */
function chunkParams(head: Bytes, index: number, final: boolean): { iv: Bytes; aad: Bytes } {
  const iv = new Uint8Array(12);
  const dv = new DataView(iv.buffer);
  dv.setUint32(4, Math.floor(index / 2 ** 32));
  dv.setUint32(8, index >>> 0);
  return { iv, aad: concat(head, iv.subarray(4), Uint8Array.of(final ? 1 : 0)) };
}

/** Running digest: d0 = SHA-256(header), d(i+1) = SHA-256(d(i) || encrypted chunk i). */
async function chain(p: Primitives, d: Bytes, chunk: Bytes): Promise<Bytes> {
  return p.sha256(concat(d, chunk));
}

export interface EncryptedAttachment {
  /** The encrypted stream: a 5-byte header, then the encrypted chunks. Iterate once. */
  ciphertext: AsyncIterable<Bytes>;
  /** The SHA-256 chain digest of all ciphertext; valid once iteration has finished. */
  digest(): Bytes;
  /** Ciphertext bytes produced so far (the total once iteration has finished). */
  size(): number;
}

/**
 * Encrypts a stream in chunks of `chunkSize` (default 64 KiB) with AES-256-GCM, in constant
 * memory. The last chunk is flagged as final in its associated data.
 */
export function encryptAttachment(p: Primitives, key: Bytes, source: AsyncIterable<Bytes>, opts?: { chunkSize?: number }): EncryptedAttachment {
  const chunkSize = opts?.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) throw new CryptoError("MALFORMED", "chunk size out of range");
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new CryptoError("MALFORMED", "attachment key must be 32 bytes");
  let digest: Bytes | null = null;
  let size = 0;
  async function* run(): AsyncGenerator<Bytes> {
    const k = await p.aesGcmKey(key);
    const head = header(chunkSize);
    let d = await p.sha256(head);
    size += head.length;
    yield head;
    const buf = new Uint8Array(chunkSize);
    let fill = 0;
    let index = 0;
    const seal = async (final: boolean): Promise<Bytes> => {
      const { iv, aad } = chunkParams(head, index, final);
      const ct = await p.aesGcmEncrypt(k, iv, buf.subarray(0, fill), aad);
      d = await chain(p, d, ct);
      index += 1;
      fill = 0;
      size += ct.length;
      return ct;
    };
    for await (const piece of source) {
      let off = 0;
      while (off < piece.length) {
        if (fill === chunkSize) yield await seal(false);
        const n = Math.min(chunkSize - fill, piece.length - off);
        buf.set(piece.subarray(off, off + n), fill);
        fill += n;
        off += n;
      }
    }
    yield await seal(true);
    digest = d;
  }
  return {
    ciphertext: { [Symbol.asyncIterator]: run },
    digest() {
      if (!digest) throw new CryptoError("MALFORMED", "digest read before the ciphertext was consumed");
      return digest;
    },
    size: () => size,
  };
}

/**
 * Decrypts a stream made by `encryptAttachment`, in constant memory. Every chunk is checked
 * before it is yielded; the final chunk only after the digest matches. Any truncation,
 * reordering, extension, tampering or wrong digest throws DECRYPT_FAILED (so write to a
 * temporary file and keep it only if iteration completes).
 */
export async function* decryptAttachment(p: Primitives, key: Bytes, digest: Bytes, source: AsyncIterable<Bytes>): AsyncGenerator<Bytes> {
  const failed = (): CryptoError => new CryptoError("DECRYPT_FAILED", "decryption failed");
  if (!(key instanceof Uint8Array) || key.length !== 32 || !(digest instanceof Uint8Array)) throw failed();
  const k = await p.aesGcmKey(key);
  const head = new Uint8Array(HEADER_LENGTH);
  let headFill = 0;
  let buf: Uint8Array | null = null;
  let chunkBytes = 0;
  let fill = 0;
  let index = 0;
  let d: Bytes = new Uint8Array(0);
  const open = async (final: boolean): Promise<Bytes> => {
    const ct = buf!.subarray(0, fill);
    const { iv, aad } = chunkParams(head, index, final);
    let pt: Bytes;
    try {
      pt = await p.aesGcmDecrypt(k, iv, ct, aad);
    } catch {
      throw failed();
    }
    d = await chain(p, d, ct);
    index += 1;
    fill = 0;
    return pt;
  };
  for await (const piece of source) {
    let off = 0;
    while (off < piece.length) {
      if (!buf) {
        const n = Math.min(HEADER_LENGTH - headFill, piece.length - off);
        head.set(piece.subarray(off, off + n), headFill);
        headFill += n;
        off += n;
        if (headFill === HEADER_LENGTH) {
          const chunkSize = new DataView(head.buffer).getUint32(1);
          if (head[0] !== ATTACHMENT_VERSION || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) throw failed();
          chunkBytes = chunkSize + TAG_LENGTH;
          buf = new Uint8Array(chunkBytes);
          d = await p.sha256(head);
        }
        continue;
      }
      if (fill === chunkBytes) yield await open(false);
      const n = Math.min(chunkBytes - fill, piece.length - off);
      buf.set(piece.subarray(off, off + n), fill);
      fill += n;
      off += n;
    }
  }
  if (!buf || fill < TAG_LENGTH) throw failed();
  const last = await open(true);
  if (!equalBytes(d, digest)) throw failed();
  yield last;
}
