import {
  type KeyObject,
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  pbkdf2,
  randomFillSync,
  sign,
  verify,
} from "node:crypto";
import { type Bytes, fromBase64urlN, toBase64url } from "./bytes.ts";
import { check, decryptFailed } from "./errors.ts";
import type { KeyPair, Primitives } from "./primitives.ts";

type Curve = "X25519" | "Ed25519";

/** A plain Uint8Array over a Buffer's bytes, without copying (a Buffer's `slice` would not copy, and `deepEqual` tells them apart). */
function view(b: Buffer): Bytes {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function keyLength(key: Bytes, n: number): void {
  check(key instanceof Uint8Array && key.length === n, "MALFORMED", "wrong key length");
}

function gcmArguments(key: Bytes, iv: Bytes): void {
  keyLength(key, 32);
  check(iv instanceof Uint8Array && iv.length === 12, "MALFORMED", "AES-GCM nonce must be 96 bits");
}

/**
 * The native provider: Node's synchronous one-shot `node:crypto` calls. The work is
 * synchronous; the methods return promises only to share `Primitives` with the WebCrypto
 * provider. X25519 and Ed25519 `KeyObject`s are made once per key byte array (a `WeakMap`),
 * so long-lived keys are imported once, and a generated key pair keeps the one it came from.
 * Same results and failures as `createWebCryptoPrimitives`, checked by the same vectors.
 */
export function createNativePrimitives(): Primitives {
  const keyObjects: Record<Curve, { private: WeakMap<Bytes, KeyObject>; public: WeakMap<Bytes, KeyObject> }> = {
    X25519: { private: new WeakMap(), public: new WeakMap() },
    Ed25519: { private: new WeakMap(), public: new WeakMap() },
  };

  // Keys are imported as JWK (RFC 8037): OpenSSL's PKCS #8 decoder takes about 15 times as long.
  // For a private key Node derives the public half from `d` and only type-checks `x`.
  function privateKey(curve: Curve, key: Bytes): KeyObject {
    keyLength(key, 32);
    let k = keyObjects[curve].private.get(key);
    if (!k) {
      k = createPrivateKey({ key: { kty: "OKP", crv: curve, d: toBase64url(key), x: "" }, format: "jwk" });
      keyObjects[curve].private.set(key, k);
    }
    return k;
  }

  function publicKey(curve: Curve, key: Bytes): KeyObject {
    keyLength(key, 32);
    let k = keyObjects[curve].public.get(key);
    if (!k) {
      k = createPublicKey({ key: { kty: "OKP", crv: curve, x: toBase64url(key) }, format: "jwk" });
      keyObjects[curve].public.set(key, k);
    }
    return k;
  }

  function publicFromPrivate(curve: Curve, key: Bytes): Bytes {
    return fromBase64urlN(privateKey(curve, key).export({ format: "jwk" }).x, 32);
  }

  function generate(curve: Curve): KeyPair {
    const k = (curve === "X25519" ? generateKeyPairSync("x25519") : generateKeyPairSync("ed25519")).privateKey;
    const jwk = k.export({ format: "jwk" });
    const pair = { privateKey: fromBase64urlN(jwk.d, 32), publicKey: fromBase64urlN(jwk.x, 32) };
    keyObjects[curve].private.set(pair.privateKey, k);
    return pair;
  }

  function randomBytes(n: number): Bytes {
    return randomFillSync(new Uint8Array(n));
  }

  function hmac(key: Bytes, data: Bytes): Bytes {
    return view(createHmac("sha256", key).update(data).digest());
  }

  return {
    randomBytes,
    async sha256(...parts) {
      const hash = createHash("sha256");
      for (const part of parts) hash.update(part);
      return view(hash.digest());
    },
    async sha512(data) {
      return view(createHash("sha512").update(data).digest());
    },
    async hmacSha256(key, data) {
      return hmac(key, data);
    },
    async hmacSha256Many(key, data) {
      return data.map((d) => hmac(key, d));
    },
    async hkdfSha256(ikm, salt, info, length) {
      check(Number.isInteger(length) && length >= 1 && length <= 255 * 32, "MALFORMED", "HKDF output length out of range");
      return new Uint8Array(hkdfSync("sha256", ikm, salt, info, length));
    },
    pbkdf2Sha256(password, salt, iterations, length) {
      // Slow on purpose, so it runs on the thread pool rather than blocking the event loop.
      return new Promise((resolve, reject) => {
        pbkdf2(password, salt, iterations, length, "sha256", (err, key) => (err ? reject(err) : resolve(view(key))));
      });
    },
    async aesGcmEncrypt(key, iv, plaintext, aad) {
      gcmArguments(key, iv);
      const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: 16 });
      if (aad) cipher.setAAD(aad);
      return view(Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]));
    },
    async aesGcmDecrypt(key, iv, ciphertext, aad) {
      try {
        gcmArguments(key, iv);
        check(ciphertext.length >= 16);
        const decipher = createDecipheriv("aes-256-gcm", key, iv, { authTagLength: 16 });
        decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
        if (aad) decipher.setAAD(aad);
        const body = decipher.update(ciphertext.subarray(0, ciphertext.length - 16));
        const rest = decipher.final();
        return view(rest.length === 0 ? body : Buffer.concat([body, rest]));
      } catch (cause) {
        throw decryptFailed(cause);
      }
    },
    async x25519Generate() {
      return generate("X25519");
    },
    async x25519PublicKey(priv) {
      return publicFromPrivate("X25519", priv);
    },
    async x25519(priv, pub) {
      try {
        // OpenSSL refuses an all-zero shared secret (a low-order point), as the WebCrypto providers do.
        return view(diffieHellman({ privateKey: privateKey("X25519", priv), publicKey: publicKey("X25519", pub) }));
      } catch (cause) {
        throw decryptFailed(cause);
      }
    },
    async ed25519Generate() {
      return generate("Ed25519");
    },
    async ed25519PublicKey(seed) {
      return publicFromPrivate("Ed25519", seed);
    },
    async ed25519Sign(seed, message) {
      return view(sign(null, message, privateKey("Ed25519", seed)));
    },
    async ed25519Verify(pub, message, signature) {
      if (!(pub instanceof Uint8Array) || pub.length !== 32 || !(signature instanceof Uint8Array) || signature.length !== 64) return false;
      try {
        return verify(null, message, publicKey("Ed25519", pub), signature);
      } catch {
        return false;
      }
    },
  };
}
