import { type Bytes, fromBase64urlN } from "./bytes.ts";
import { CryptoError, type CryptoErrorCode } from "./errors.ts";

// Small validators for state read back from disk and bundles read from the server: nothing
// untrusted is cast. Each failure throws the caller's code naming the bad path.

export type Obj = Record<string, unknown>;

export function obj(v: unknown, path: string, code: CryptoErrorCode = "MALFORMED"): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new CryptoError(code, `${path}: expected an object`);
  return v as Obj;
}

export function arr(v: unknown, path: string, code: CryptoErrorCode = "MALFORMED", max = 100_000): unknown[] {
  if (!Array.isArray(v) || v.length > max) throw new CryptoError(code, `${path}: expected an array`);
  return v;
}

export function uint(v: unknown, path: string, code: CryptoErrorCode = "MALFORMED", max = 0xffffffff): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) throw new CryptoError(code, `${path}: expected an integer`);
  return v;
}

export function str(v: unknown, path: string, code: CryptoErrorCode = "MALFORMED"): string {
  if (typeof v !== "string") throw new CryptoError(code, `${path}: expected a string`);
  return v;
}

export function bool(v: unknown, path: string, code: CryptoErrorCode = "MALFORMED"): boolean {
  if (typeof v !== "boolean") throw new CryptoError(code, `${path}: expected a boolean`);
  return v;
}

export function key(v: unknown, length: number, path: string, code: CryptoErrorCode = "MALFORMED"): Bytes {
  try {
    return fromBase64urlN(v, length);
  } catch (cause) {
    throw new CryptoError(code, `${path}: expected ${length} base64url bytes`, { cause });
  }
}

export function version(v: unknown, path: string): 1 {
  if (v !== 1) throw new CryptoError("UNSUPPORTED_VERSION", `${path}: unsupported version`);
  return 1;
}
