import { randomBytes } from "node:crypto";
import { SignJWT, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK, type KeyObject } from "jose";
import { assert, type PublicJwk } from "@natter/protocol";
import type { AccessClaims, TokenIssuer } from "../../domain/token-issuer.ts";

/** A private Ed25519 JWK with its key id, as AUTH_JWT_KEYS holds them. */
export interface SigningJwk {
  kty: "OKP";
  crv: "Ed25519";
  x: string;
  d: string;
  kid: string;
  alg?: "EdDSA";
}

export const ISSUER = "natter";
export const AUDIENCE = "natter";

/**
 * A fresh Ed25519 signing key as a JWK, for AUTH_JWT_KEYS. Its `kid` is the day it was made
 * and a random part (`k20300101-1a2b3c4d`), so an operator rotating keys can tell them apart.
 */
export async function generateSigningKey(): Promise<SigningJwk> {
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const jwk = await exportJWK(privateKey);
  assert(jwk.kty === "OKP" && jwk.crv === "Ed25519" && jwk.x && jwk.d, "Ed25519 JWK export");
  const kid = `k${new Date().toISOString().slice(0, 10).replaceAll("-", "")}-${randomBytes(4).toString("hex")}`;
  return { kty: "OKP", crv: "Ed25519", x: jwk.x, d: jwk.d, kid, alg: "EdDSA" };
}

/**
 * Signs access tokens (EdDSA, `kid` header) with the first key; publishes the public
 * halves of all keys so tokens signed before a rotation still verify.
 */
export class JwtIssuer implements TokenIssuer {
  private constructor(
    private readonly signing: { kid: string; key: CryptoKey | KeyObject | Uint8Array },
    private readonly published: PublicJwk[],
    private readonly ttlSeconds: number,
  ) {}

  static async create(keys: readonly SigningJwk[], ttlSeconds: number): Promise<JwtIssuer> {
    const first = keys[0];
    assert(first, "at least one signing key");
    const key = await importJWK({ kty: first.kty, crv: first.crv, x: first.x, d: first.d } satisfies JWK, "EdDSA");
    const published = keys.map((k) => ({ kty: "OKP" as const, crv: "Ed25519" as const, x: k.x, kid: k.kid, alg: "EdDSA" as const }));
    return new JwtIssuer({ kid: first.kid, key }, published, ttlSeconds);
  }

  async issue(claims: AccessClaims, nowMs: number): Promise<{ token: string; expiresAt: number }> {
    const iat = Math.floor(nowMs / 1000);
    const expiresAt = iat + this.ttlSeconds;
    const token = await new SignJWT({ name: claims.username, sid: claims.sid })
      .setProtectedHeader({ alg: "EdDSA", kid: this.signing.kid, typ: "JWT" })
      .setSubject(claims.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(iat)
      .setExpirationTime(expiresAt)
      .sign(this.signing.key);
    return { token, expiresAt };
  }

  publicKeys(): PublicJwk[] {
    return this.published.map((k) => ({ ...k }));
  }
}
