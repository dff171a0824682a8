import { type Bytes, concat, equalBytes } from "./bytes.ts";
import { CryptoError, decryptFailed } from "./errors.ts";
import type { Primitives } from "./primitives.ts";

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

/**
 * The running digest: d0 = SHA-256(header), d(i+1) = SHA-256(d(i) || encrypted chunk i).
 * Each link needs the one before, but nothing else waits for it: where the provider hashes
 * off the main thread (Node's WebCrypto), the next chunk is sealed or opened meanwhile. At
 * most one hash is in flight, so memory stays flat.
 */
class DigestChain {
  private d: Promise<Bytes>;
  constructor(private readonly p: Primitives, head: Bytes) {
    this.d = p.sha256(head);
  }
  /** Adds a chunk; its bytes have been read when this returns, so the caller may reuse them. */
  async add(chunk: Bytes): Promise<void> {
    const d = await this.d;
    this.d = this.p.sha256(d, chunk);
  }
  result(): Promise<Bytes> {
    return this.d;
  }
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
    const head = header(chunkSize);
    const chain = new DigestChain(p, head);
    size += head.length;
    yield head;
    const buf = new Uint8Array(chunkSize);
    let fill = 0;
    let index = 0;
    const seal = async (plaintext: Bytes, final: boolean): Promise<Bytes> => {
      const { iv, aad } = chunkParams(head, index, final);
      const ct = await p.aesGcmEncrypt(key, iv, plaintext, aad);
      await chain.add(ct);
      index += 1;
      size += ct.length;
      return ct;
    };
    for await (const piece of source) {
      let off = 0;
      while (off < piece.length) {
        if (fill === chunkSize) {
          yield await seal(buf, false);
          fill = 0;
        }
        if (fill === 0 && piece.length - off > chunkSize) {
          // A whole chunk with more bytes after it: sealed where it lies, not copied.
          yield await seal(piece.subarray(off, off + chunkSize), false);
          off += chunkSize;
          continue;
        }
        const n = Math.min(chunkSize - fill, piece.length - off);
        buf.set(piece.subarray(off, off + n), fill);
        fill += n;
        off += n;
      }
    }
    yield await seal(buf.subarray(0, fill), true);
    digest = await chain.result();
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
  if (!(key instanceof Uint8Array) || key.length !== 32 || !(digest instanceof Uint8Array)) throw decryptFailed();
  const head = new Uint8Array(HEADER_LENGTH);
  let headFill = 0;
  let buf: Uint8Array | null = null;
  let chain: DigestChain | null = null;
  let chunkBytes = 0;
  let fill = 0;
  let index = 0;
  const open = async (ct: Bytes, final: boolean): Promise<Bytes> => {
    const { iv, aad } = chunkParams(head, index, final);
    // The digest covers the ciphertext, so its hash need not wait for the decryption.
    await chain!.add(ct);
    let pt: Bytes;
    try {
      pt = await p.aesGcmDecrypt(key, iv, ct, aad);
    } catch {
      throw decryptFailed();
    }
    index += 1;
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
          if (head[0] !== ATTACHMENT_VERSION || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) throw decryptFailed();
          chunkBytes = chunkSize + TAG_LENGTH;
          buf = new Uint8Array(chunkBytes);
          chain = new DigestChain(p, head);
        }
        continue;
      }
      if (fill === chunkBytes) {
        yield await open(buf, false);
        fill = 0;
      }
      if (fill === 0 && piece.length - off > chunkBytes) {
        // A whole chunk with more bytes after it: opened where it lies, not copied.
        yield await open(piece.subarray(off, off + chunkBytes), false);
        off += chunkBytes;
        continue;
      }
      const n = Math.min(chunkBytes - fill, piece.length - off);
      buf.set(piece.subarray(off, off + n), fill);
      fill += n;
      off += n;
    }
  }
  if (!buf || !chain || fill < TAG_LENGTH) throw decryptFailed();
  const last = await open(buf.subarray(0, fill), true);
  if (!equalBytes(await chain.result(), digest)) throw decryptFailed();
  yield last;
}
