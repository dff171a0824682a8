import { CryptoError, check } from "./errors.ts";

export type Bytes = Uint8Array;

const B64URL = /^[A-Za-z0-9_-]*$/;

/** Unpadded base64url (RFC 4648 §5). */
export function toBase64url(b: Bytes): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64url");
}

/** Strict unpadded base64url; throws CryptoError MALFORMED on anything else. */
export function fromBase64url(s: string): Bytes {
  if (typeof s !== "string" || !B64URL.test(s) || s.length % 4 === 1) {
    throw new CryptoError("MALFORMED", "invalid base64url");
  }
  const out = new Uint8Array(Buffer.from(s, "base64url"));
  // Reject non-canonical trailing bits so that one byte string has one encoding.
  if (toBase64url(out) !== s) throw new CryptoError("MALFORMED", "invalid base64url");
  return out;
}

/** Decodes base64url and checks the length. */
export function fromBase64urlN(s: unknown, length: number): Bytes {
  check(typeof s === "string", "MALFORMED", "expected a base64url string");
  const b = fromBase64url(s);
  check(b.length === length, "MALFORMED", "wrong key length");
  return b;
}

export function concat(...parts: Bytes[]): Bytes {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Constant-time equality (time depends only on the lengths). */
export function equalBytes(a: Bytes, b: Bytes): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

export function utf8(s: string): Bytes {
  return new TextEncoder().encode(s);
}

export function fromUtf8(b: Bytes): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(b);
  } catch (cause) {
    throw new CryptoError("MALFORMED", "invalid utf-8", { cause });
  }
}

export function u32(n: number): Bytes {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

/** Builds wire messages field by field. */
export class Writer {
  private readonly parts: Bytes[] = [];
  u8(n: number): this {
    this.parts.push(Uint8Array.of(n));
    return this;
  }
  u16(n: number): this {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, n);
    this.parts.push(b);
    return this;
  }
  u32(n: number): this {
    this.parts.push(u32(n));
    return this;
  }
  bytes(b: Bytes): this {
    this.parts.push(b);
    return this;
  }
  /** A u16 length prefix then the bytes. */
  var16(b: Bytes): this {
    check(b.length <= 0xffff, "MALFORMED", "field too long");
    return this.u16(b.length).bytes(b);
  }
  finish(): Bytes {
    return concat(...this.parts);
  }
}

/** Reads wire messages; every overrun is MALFORMED. */
export class Reader {
  private o = 0;
  constructor(private readonly b: Bytes) {}
  get offset(): number {
    return this.o;
  }
  get remaining(): number {
    return this.b.length - this.o;
  }
  private take(n: number): Bytes {
    check(n >= 0 && this.o + n <= this.b.length, "MALFORMED", "truncated message");
    const out = this.b.subarray(this.o, this.o + n);
    this.o += n;
    return out;
  }
  u8(): number {
    return this.take(1)[0]!;
  }
  u16(): number {
    const b = this.take(2);
    return (b[0]! << 8) | b[1]!;
  }
  u32(): number {
    const b = this.take(4);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
  }
  bytes(n: number): Bytes {
    return this.take(n);
  }
  var16(): Bytes {
    return this.take(this.u16());
  }
  rest(): Bytes {
    return this.take(this.remaining);
  }
}
