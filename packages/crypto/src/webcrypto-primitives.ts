import type { webcrypto } from "node:crypto";
import { createRequire } from "node:module";
import { type Bytes, concat, fromBase64url } from "./bytes.ts";
import { CryptoError, check, decryptFailed } from "./errors.ts";
import type { Primitives } from "./primitives.ts";

// The WebCrypto types, from @types/node (the workspace compiles without the DOM lib).
/** A WebCrypto `SubtleCrypto`, the interface `createWebCryptoPrimitives` is written against. */
export type SubtleCrypto = webcrypto.SubtleCrypto;
type CryptoKey = webcrypto.CryptoKey;
type AesGcmParams = webcrypto.AesGcmParams;
type EcdhKeyDeriveParams = webcrypto.EcdhKeyDeriveParams;

const require = createRequire(import.meta.url);

/** `@peculiar/webcrypto`'s SubtleCrypto (the WebCrypto provider's default). */
export function peculiarSubtle(): SubtleCrypto {
  const { Crypto } = require("@peculiar/webcrypto") as { Crypto: new () => { subtle: SubtleCrypto } };
  return new Crypto().subtle;
}

/** Node's built-in WebCrypto (`crypto.subtle`). */
export function nodeSubtle(): SubtleCrypto {
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

function keyLength(key: Bytes, n: number): void {
  check(key instanceof Uint8Array && key.length === n, "MALFORMED", "wrong key length");
}

/**
 * The portable provider, over any WebCrypto `SubtleCrypto` (default: a fresh
 * `@peculiar/webcrypto` instance; `nodeSubtle()` for Node's). Every call is asynchronous and
 * goes through a key import, so imported `CryptoKey`s are cached per key byte array.
 */
export function createWebCryptoPrimitives(subtle: SubtleCrypto = peculiarSubtle()): Primitives {
  const xPriv = new WeakMap<Bytes, Promise<CryptoKey>>();
  const xPub = new WeakMap<Bytes, Promise<CryptoKey>>();
  const edPriv = new WeakMap<Bytes, Promise<CryptoKey>>();
  const edPub = new WeakMap<Bytes, Promise<CryptoKey>>();
  const aes = new WeakMap<Bytes, Promise<CryptoKey>>();

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
  const importAes = (key: Bytes): Promise<CryptoKey> => {
    keyLength(key, 32);
    return cached(aes, key, () => subtle.importKey("raw", key, "AES-GCM", false, ["encrypt", "decrypt"]));
  };
  const publicFromPrivate = async (k: CryptoKey): Promise<Bytes> => {
    const jwk = await subtle.exportKey("jwk", k);
    if (typeof jwk.x !== "string") throw new CryptoError("MALFORMED", "provider returned no public key");
    return fromBase64url(jwk.x);
  };
  const gcm = (iv: Bytes, aad?: Bytes): AesGcmParams => {
    if (iv.length !== 12) throw new CryptoError("MALFORMED", "AES-GCM nonce must be 96 bits");
    return aad ? { name: "AES-GCM", iv, additionalData: aad, tagLength: 128 } : { name: "AES-GCM", iv, tagLength: 128 };
  };

  const p: Primitives = {
    randomBytes(n) {
      const out = new Uint8Array(n);
      for (let o = 0; o < n; o += 65536) (globalThis.crypto as webcrypto.Crypto).getRandomValues(out.subarray(o, Math.min(n, o + 65536)));
      return out;
    },
    async sha256(...parts) {
      // Joined (a copy) before the first await, as the interface promises.
      return new Uint8Array(await subtle.digest("SHA-256", concat(...parts)));
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
    async aesGcmEncrypt(key, iv, plaintext, aad) {
      return new Uint8Array(await subtle.encrypt(gcm(iv, aad), await importAes(key), plaintext));
    },
    async aesGcmDecrypt(key, iv, ciphertext, aad) {
      try {
        return new Uint8Array(await subtle.decrypt(gcm(iv, aad), await importAes(key), ciphertext));
      } catch (cause) {
        throw decryptFailed(cause);
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
        throw decryptFailed(cause);
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
