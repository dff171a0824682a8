import type { webcrypto } from "node:crypto";
import { createRequire } from "node:module";
import { type Bytes, concat, fromBase64url } from "./bytes.ts";
import { CryptoError } from "./errors.ts";

// The WebCrypto types, from @types/node (the workspace compiles without the DOM lib).
export type SubtleCrypto = webcrypto.SubtleCrypto;
export type CryptoKey = webcrypto.CryptoKey;
type KeyUsage = webcrypto.KeyUsage;
type AesGcmParams = webcrypto.AesGcmParams;
type EcdhKeyDeriveParams = webcrypto.EcdhKeyDeriveParams;

/** A key pair held as raw bytes: a 32-byte public key and a 32-byte private seed/scalar. */
export interface KeyPair {
  readonly publicKey: Bytes;
  readonly privateKey: Bytes;
}

/**
 * Every primitive the package uses, over one injected `SubtleCrypto`. Keys go in and out as
 * raw bytes; imported `CryptoKey`s are cached per key object (a `WeakMap` on the byte array),
 * so long-lived keys (identity, ratchet and signing keys) are imported once.
 */
export interface Primitives {
  readonly subtle: SubtleCrypto;
  randomBytes(n: number): Bytes;
  sha256(data: Bytes): Promise<Bytes>;
  sha512(data: Bytes): Promise<Bytes>;
  hmacSha256(key: Bytes, data: Bytes): Promise<Bytes>;
  /** HMAC-SHA256 of several messages under one key (one import): a chain-key step. */
  hmacSha256Many(key: Bytes, data: readonly Bytes[]): Promise<Bytes[]>;
  hkdfSha256(ikm: Bytes, salt: Bytes, info: Bytes, length: number): Promise<Bytes>;
  pbkdf2Sha256(password: Bytes, salt: Bytes, iterations: number, length: number): Promise<Bytes>;
  /** Imports a 32-byte AES-256-GCM key, for streams that reuse one key. */
  aesGcmKey(key: Bytes): Promise<CryptoKey>;
  /** AES-GCM with a 96-bit nonce and a 128-bit tag appended to the ciphertext. */
  aesGcmEncrypt(key: Bytes | CryptoKey, iv: Bytes, plaintext: Bytes, aad?: Bytes): Promise<Bytes>;
  /** Throws CryptoError DECRYPT_FAILED on any failure. */
  aesGcmDecrypt(key: Bytes | CryptoKey, iv: Bytes, ciphertext: Bytes, aad?: Bytes): Promise<Bytes>;
  x25519Generate(): Promise<KeyPair>;
  x25519PublicKey(privateKey: Bytes): Promise<Bytes>;
  /** X25519(privateKey, publicKey); throws CryptoError DECRYPT_FAILED when the provider refuses (e.g. low-order points). */
  x25519(privateKey: Bytes, publicKey: Bytes): Promise<Bytes>;
  ed25519Generate(): Promise<KeyPair>;
  ed25519PublicKey(seed: Bytes): Promise<Bytes>;
  ed25519Sign(seed: Bytes, message: Bytes): Promise<Bytes>;
  /** False for any bad signature, key or length; never throws. */
  ed25519Verify(publicKey: Bytes, message: Bytes, signature: Bytes): Promise<boolean>;
}

const require = createRequire(import.meta.url);

/** `@peculiar/webcrypto`'s SubtleCrypto (the default provider). */
export function peculiarSubtle(): SubtleCrypto {
  const { Crypto } = require("@peculiar/webcrypto") as { Crypto: new () => { subtle: SubtleCrypto } };
  return new Crypto().subtle;
}

/** Node's built-in WebCrypto. */
export function nativeSubtle(): SubtleCrypto {
  return (globalThis.crypto as webcrypto.Crypto).subtle;
}

// RFC 8410 PrivateKeyInfo prefixes: the 32-byte seed/scalar follows.
const PKCS8_X25519 = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]);
const PKCS8_ED25519 = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

// @peculiar/webcrypto 1.7 registers both the standard names ("Ed25519", "X25519", used here,
// as by Node) and its older "EdDSA"/"ECDH-ES" with namedCurve; the standard ones suit both.
const X25519 = { name: "X25519" } as const;
const ED25519 = { name: "Ed25519" } as const;
const HMAC = { name: "HMAC", hash: "SHA-256" } as const;

function fail(code: "DECRYPT_FAILED" | "MALFORMED", cause: unknown): never {
  throw new CryptoError(code, code === "DECRYPT_FAILED" ? "decryption failed" : "invalid key", { cause });
}

function keyLength(key: Bytes, n: number): void {
  if (!(key instanceof Uint8Array) || key.length !== n) throw new CryptoError("MALFORMED", "wrong key length");
}

/** Builds the primitives over `subtle` (default: a fresh `@peculiar/webcrypto` instance). */
export function createPrimitives(subtle: SubtleCrypto = peculiarSubtle()): Primitives {
  const xPriv = new WeakMap<Bytes, Promise<CryptoKey>>();
  const xPub = new WeakMap<Bytes, Promise<CryptoKey>>();
  const edPriv = new WeakMap<Bytes, Promise<CryptoKey>>();
  const edPub = new WeakMap<Bytes, Promise<CryptoKey>>();

  function cached(map: WeakMap<Bytes, Promise<CryptoKey>>, key: Bytes, make: () => Promise<CryptoKey>): Promise<CryptoKey> {
    let k = map.get(key);
    if (!k) {
      k = make();
      map.set(key, k);
      k.catch(() => map.delete(key));
    }
    return k;
  }

  const importXPriv = (priv: Bytes): Promise<CryptoKey> => {
    keyLength(priv, 32);
    return cached(xPriv, priv, () => subtle.importKey("pkcs8", concat(PKCS8_X25519, priv), X25519, true, ["deriveBits"]));
  };
  const importXPub = (pub: Bytes): Promise<CryptoKey> => {
    keyLength(pub, 32);
    return cached(xPub, pub, () => subtle.importKey("raw", pub, X25519, true, []));
  };
  const importEdPriv = (seed: Bytes): Promise<CryptoKey> => {
    keyLength(seed, 32);
    return cached(edPriv, seed, () => subtle.importKey("pkcs8", concat(PKCS8_ED25519, seed), ED25519, true, ["sign"]));
  };
  const importEdPub = (pub: Bytes): Promise<CryptoKey> => {
    keyLength(pub, 32);
    return cached(edPub, pub, () => subtle.importKey("raw", pub, ED25519, true, ["verify"]));
  };
  const publicFromPrivate = async (k: CryptoKey): Promise<Bytes> => {
    const jwk = await subtle.exportKey("jwk", k);
    if (typeof jwk.x !== "string") throw new CryptoError("MALFORMED", "provider returned no public key");
    return fromBase64url(jwk.x);
  };
  const aesKey = (key: Bytes | CryptoKey, usage: KeyUsage): Promise<CryptoKey> => {
    if (key instanceof Uint8Array) {
      keyLength(key, 32);
      return subtle.importKey("raw", key, "AES-GCM", false, [usage]);
    }
    return Promise.resolve(key);
  };
  const gcm = (iv: Bytes, aad?: Bytes): AesGcmParams => {
    if (iv.length !== 12) throw new CryptoError("MALFORMED", "AES-GCM nonce must be 96 bits");
    return aad ? { name: "AES-GCM", iv, additionalData: aad, tagLength: 128 } : { name: "AES-GCM", iv, tagLength: 128 };
  };

  const p: Primitives = {
    subtle,
    randomBytes(n) {
      const out = new Uint8Array(n);
      for (let o = 0; o < n; o += 65536) (globalThis.crypto as webcrypto.Crypto).getRandomValues(out.subarray(o, Math.min(n, o + 65536)));
      return out;
    },
    async sha256(data) {
      return new Uint8Array(await subtle.digest("SHA-256", data));
    },
    async sha512(data) {
      return new Uint8Array(await subtle.digest("SHA-512", data));
    },
    async hmacSha256(key, data) {
      const [mac] = await p.hmacSha256Many(key, [data]);
      return mac!;
    },
    async hmacSha256Many(key, data) {
      const k = await subtle.importKey("raw", key, HMAC, false, ["sign"]);
      return Promise.all(data.map(async (d) => new Uint8Array(await subtle.sign("HMAC", k, d))));
    },
    async hkdfSha256(ikm, salt, info, length) {
      // RFC 5869 caps the output at 255 blocks; @peculiar/webcrypto 1.7 does not enforce it.
      if (!Number.isInteger(length) || length < 1 || length > 255 * 32) throw new CryptoError("MALFORMED", "HKDF output length out of range");
      const k = await subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
      return new Uint8Array(await subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, k, length * 8));
    },
    async pbkdf2Sha256(password, salt, iterations, length) {
      const k = await subtle.importKey("raw", password, "PBKDF2", false, ["deriveBits"]);
      return new Uint8Array(await subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, k, length * 8));
    },
    aesGcmKey(key) {
      keyLength(key, 32);
      return subtle.importKey("raw", key, "AES-GCM", false, ["encrypt", "decrypt"]);
    },
    async aesGcmEncrypt(key, iv, plaintext, aad) {
      return new Uint8Array(await subtle.encrypt(gcm(iv, aad), await aesKey(key, "encrypt"), plaintext));
    },
    async aesGcmDecrypt(key, iv, ciphertext, aad) {
      try {
        return new Uint8Array(await subtle.decrypt(gcm(iv, aad), await aesKey(key, "decrypt"), ciphertext));
      } catch (cause) {
        fail("DECRYPT_FAILED", cause);
      }
    },
    async x25519Generate() {
      const privateKey = p.randomBytes(32);
      return { privateKey, publicKey: await p.x25519PublicKey(privateKey) };
    },
    async x25519PublicKey(privateKey) {
      return publicFromPrivate(await importXPriv(privateKey));
    },
    async x25519(privateKey, publicKey) {
      try {
        const [priv, pub] = await Promise.all([importXPriv(privateKey), importXPub(publicKey)]);
        return new Uint8Array(await subtle.deriveBits({ name: "X25519", public: pub } as EcdhKeyDeriveParams, priv, 256));
      } catch (cause) {
        fail("DECRYPT_FAILED", cause);
      }
    },
    async ed25519Generate() {
      const privateKey = p.randomBytes(32);
      return { privateKey, publicKey: await p.ed25519PublicKey(privateKey) };
    },
    async ed25519PublicKey(seed) {
      return publicFromPrivate(await importEdPriv(seed));
    },
    async ed25519Sign(seed, message) {
      return new Uint8Array(await subtle.sign(ED25519, await importEdPriv(seed), message));
    },
    async ed25519Verify(publicKey, message, signature) {
      if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32 || signature.length !== 64) return false;
      try {
        return await subtle.verify(ED25519, await importEdPub(publicKey), signature, message);
      } catch {
        return false;
      }
    },
  };
  return p;
}
