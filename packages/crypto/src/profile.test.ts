import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { rejectsWith, text } from "../test/fixtures.ts";
import { providers } from "../test/providers.ts";
import { fromBase64url, toBase64url } from "./bytes.ts";
import { generateProfileKey, openProfile, sealProfile } from "./profile.ts";

describe("encrypted profiles", () => {
  for (const { name, p } of providers) {
    it(`round-trips under the profile key, with a fresh nonce each time (${name})`, async () => {
      const key = generateProfileKey(p);
      const a = await sealProfile(p, key, text('{"name":"Ann"}'));
      const b = await sealProfile(p, key, text('{"name":"Ann"}'));
      assert.notEqual(a, b);
      assert.match(a, /^[A-Za-z0-9_-]+$/);
      assert.deepEqual(await openProfile(p, key, a), text('{"name":"Ann"}'));
      for (const other of providers) assert.deepEqual(await openProfile(other.p, key, b), text('{"name":"Ann"}'));
    });
  }

  it("refuses another key, a tampered blob, an unknown version and a bad key length", async () => {
    const { p } = providers[0]!;
    const key = generateProfileKey(p);
    const blob = await sealProfile(p, key, text("status"));
    await rejectsWith(() => openProfile(p, generateProfileKey(p), blob), "DECRYPT_FAILED");
    const bytes = fromBase64url(blob);
    bytes[5]! ^= 1;
    await rejectsWith(() => openProfile(p, key, toBase64url(bytes)), "DECRYPT_FAILED");
    bytes[5]! ^= 1;
    bytes[0] = 2;
    await rejectsWith(() => openProfile(p, key, toBase64url(bytes)), "UNSUPPORTED_VERSION");
    await rejectsWith(() => openProfile(p, key, toBase64url(new Uint8Array([1, 0, 0]))), "MALFORMED");
    await rejectsWith(() => sealProfile(p, new Uint8Array(16), text("x")), "MALFORMED");
  });
});
