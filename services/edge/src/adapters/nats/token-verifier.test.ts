import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { NatterError, type PublicJwk } from "@natter/protocol";
import { JwksTokenVerifier } from "./token-verifier.ts";

async function issuer() {
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "EdDSA" } as PublicJwk;
  const sign = (claims: { sub: string; name: string; sid: string }, expiresIn: string | number = "15m") =>
    new SignJWT({ name: claims.name, sid: claims.sid })
      .setProtectedHeader({ alg: "EdDSA", kid: "k1" })
      .setSubject(claims.sub).setIssuer("natter").setAudience("natter").setIssuedAt().setExpirationTime(expiresIn)
      .sign(privateKey);
  return { jwk, sign };
}

const refused = (code: string) => (error: unknown) => error instanceof NatterError && error.code === code;

describe("token verifier", () => {
  it("accepts a token again without asking for keys again, and refuses it altered", async () => {
    const { jwk, sign } = await issuer();
    let fetches = 0;
    const verifier = new JwksTokenVerifier(async () => { fetches += 1; return [jwk]; });
    const token = await sign({ sub: "u1", name: "alice", sid: "s1" });
    assert.deepEqual(await verifier.verify(token), { userId: "u1", username: "alice", sid: "s1" });
    assert.deepEqual(await verifier.verify(token), { userId: "u1", username: "alice", sid: "s1" });
    assert.equal(fetches, 1);

    // The remembered signature does not vouch for another payload.
    const [header, , signature] = token.split(".");
    const forged = Buffer.from(JSON.stringify({ sub: "u2", name: "mallory", sid: "s1", iss: "natter", aud: "natter", exp: 9999999999 })).toString("base64url");
    await assert.rejects(verifier.verify(`${header}.${forged}.${signature}`), refused("TOKEN_INVALID"));
  });

  it("refuses a remembered token once it has expired", async () => {
    const { jwk, sign } = await issuer();
    const verifier = new JwksTokenVerifier(async () => [jwk]);
    const token = await sign({ sub: "u1", name: "alice", sid: "s1" }, Math.floor(Date.now() / 1000) + 1);
    await verifier.verify(token);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await assert.rejects(verifier.verify(token), refused("TOKEN_EXPIRED"));
  });
});
