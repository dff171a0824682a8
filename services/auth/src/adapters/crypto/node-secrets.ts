import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Secrets } from "../../domain/secrets.ts";

export const nodeSecrets: Secrets = {
  newId: () => randomUUID(),
  newRefreshToken: () => randomBytes(32).toString("base64url"),
  digest: (refreshToken) => createHash("sha256").update(refreshToken, "utf8").digest("hex"),
};
