import { createHash } from "node:crypto";
import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet } from "jose";
import { NatterError, type PublicJwk } from "@natter/protocol";
import type { Identity, TokenVerifier } from "../../domain/ports.ts";

/** Don't ask auth for its keys more often than this when a token names an unknown kid. */
const REFRESH_INTERVAL_MS = 10_000;
/** Tokens remembered as verified; past this the oldest are forgotten. */
const MAX_REMEMBERED = 10_000;

/**
 * Verifies auth's Ed25519 JWTs against the public keys auth publishes over NATS, fetched
 * again when a token names a key id it has not seen (rotation). Only EdDSA is accepted,
 * so `alg: none` and HMAC confusion are refused by construction.
 */
export class JwksTokenVerifier implements TokenVerifier {
  private jwks: ReturnType<typeof createLocalJWKSet> | undefined;
  private fetchedAt = 0;
  /**
   * Tokens already verified, by SHA-256 of the whole token, until they expire: a device
   * that reconnects (a reconnect storm after an edge or network blip) costs no second
   * signature check. Forgotten when the keys are fetched again.
   */
  private readonly verified = new Map<string, { identity: Identity; expiresAt: number }>();

  constructor(private readonly fetchKeys: () => Promise<PublicJwk[]>) {}

  async verify(token: string): Promise<Identity> {
    const key = createHash("sha256").update(token).digest("base64");
    const known = this.verified.get(key);
    if (known && known.expiresAt > Date.now()) return known.identity;
    this.verified.delete(key);
    const { identity, expiresAt } = await this.verifyAnew(token);
    if (this.verified.size >= MAX_REMEMBERED) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(key, { identity, expiresAt });
    return identity;
  }

  private async verifyAnew(token: string): Promise<{ identity: Identity; expiresAt: number }> {
    try {
      return await this.check(token, await this.keys(false));
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey && Date.now() - this.fetchedAt > REFRESH_INTERVAL_MS) {
        return this.check(token, await this.keys(true)).catch(rethrow);
      }
      return rethrow(error);
    }
  }

  private async check(token: string, jwks: ReturnType<typeof createLocalJWKSet>): Promise<{ identity: Identity; expiresAt: number }> {
    const { payload } = await jwtVerify(token, jwks, { algorithms: ["EdDSA"], issuer: "natter", audience: "natter" });
    const { sub, name, sid, exp } = payload;
    if (typeof sub !== "string" || typeof name !== "string" || typeof sid !== "string" || typeof exp !== "number") {
      throw new NatterError("TOKEN_INVALID");
    }
    return { identity: { userId: sub, username: name, sid }, expiresAt: exp * 1000 };
  }

  private async keys(force: boolean): Promise<ReturnType<typeof createLocalJWKSet>> {
    if (!this.jwks || force) {
      const keys = await this.fetchKeys();
      this.jwks = createLocalJWKSet({ keys } as JSONWebKeySet);
      this.verified.clear();
      this.fetchedAt = Date.now();
    }
    return this.jwks;
  }
}

function rethrow(error: unknown): never {
  if (error instanceof NatterError) throw error;
  if (error instanceof errors.JWTExpired) throw new NatterError("TOKEN_EXPIRED");
  throw new NatterError("TOKEN_INVALID");
}
