import { createHash, createHmac } from "node:crypto";
import type { PasswordSalts } from "../../domain/password-salts.ts";

/** Made-up salts: the first 16 bytes of HMAC-SHA256(secret, name). */
export class HmacSalts implements PasswordSalts {
  private readonly key: Buffer;

  /** `secret`: AUTH_SALT_SECRET, or the signing key's private part when that is not set. */
  constructor(secret: string) {
    // Domain-separated, so the key used here is never the signing key itself.
    this.key = createHash("sha256").update("natter fake salt key\0").update(secret, "utf8").digest();
  }

  fakeSalt(username: string): string {
    return createHmac("sha256", this.key).update(username, "utf8").digest().subarray(0, 16).toString("base64url");
  }
}
