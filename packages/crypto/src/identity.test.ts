import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { code } from "../test/fixtures.ts";
import { providers } from "../test/providers.ts";
import { fromBase64url, toBase64url } from "./bytes.ts";
import { CRYPTO_ERROR_CODES, CryptoError } from "./errors.ts";
import { DeviceIdentity, verifyBundle, verifyPrekeyBundle } from "./identity.ts";

const { p } = providers[0]!;

describe("device identity", () => {
  it("publishes a bundle whose every signature verifies", async () => {
    const d = await DeviceIdentity.generate(p, { oneTimePrekeys: 5 });
    const bundle = d.publicBundle();
    assert.equal(bundle.oneTimePrekeys.length, 5);
    assert.deepEqual(await verifyBundle(p, JSON.parse(JSON.stringify(bundle))), bundle);
    const fresh = await d.generateOneTimePrekeys(3);
    assert.equal(d.oneTimePrekeyCount(), 8);
    assert.equal(new Set([...bundle.oneTimePrekeys, ...fresh].map((k) => k.id)).size, 8);
    const spk = await d.rotateSignedPrekey();
    assert.notEqual(spk.id, bundle.signedPrekey.id);
    await verifyBundle(p, d.publicBundle());
  });

  it("rejects bad bundles: a flipped signature, a swapped key, a bad shape", async () => {
    const d = await DeviceIdentity.generate(p, { oneTimePrekeys: 2 });
    const b = d.publicBundle();
    const sig = fromBase64url(b.identityDhSignature);
    sig[0]! ^= 1;
    assert.equal(await code(() => verifyBundle(p, { ...b, identityDhSignature: toBase64url(sig) })), "BAD_SIGNATURE");
    const otks = [b.oneTimePrekeys[0]!, { ...b.oneTimePrekeys[1]!, publicKey: b.oneTimePrekeys[0]!.publicKey }];
    assert.equal(await code(() => verifyBundle(p, { ...b, oneTimePrekeys: otks })), "BAD_SIGNATURE");
    assert.equal(await code(() => verifyBundle(p, { ...b, identityKey: 7 })), "BAD_BUNDLE");
    assert.equal(await code(() => verifyBundle(p, null)), "BAD_BUNDLE");
    assert.equal(await code(() => verifyBundle(p, { ...b, v: 2 })), "UNSUPPORTED_VERSION");
    const { oneTimePrekeys, ...claim } = b;
    assert.deepEqual(await verifyPrekeyBundle(p, { ...claim, oneTimePrekey: oneTimePrekeys[0] }), { ...claim, oneTimePrekey: oneTimePrekeys[0] });
  });

  it("round-trips through JSON and refuses mismatched or malformed state", async () => {
    const d = await DeviceIdentity.generate(p, { oneTimePrekeys: 2 });
    const json = JSON.parse(JSON.stringify(d.toJSON()));
    const back = await DeviceIdentity.fromJSON(p, json);
    assert.deepEqual(back.toJSON(), d.toJSON());
    const other = await DeviceIdentity.generate(p, { oneTimePrekeys: 0 });
    assert.equal(await code(() => DeviceIdentity.fromJSON(p, { ...json, identityKey: { ...json.identityKey, privateKey: other.toJSON().identityKey.privateKey } })), "MALFORMED");
    assert.equal(await code(() => DeviceIdentity.fromJSON(p, { ...json, oneTimePrekeys: "x" })), "MALFORMED");
  });
});

describe("errors", () => {
  it("carry a stable code, a name and a cause", () => {
    const cause = new Error("inner");
    const e = new CryptoError("DECRYPT_FAILED", undefined, { cause });
    assert.equal(e.name, "CryptoError");
    assert.equal(e.code, "DECRYPT_FAILED");
    assert.equal(e.cause, cause);
    assert.ok(e instanceof Error);
    assert.equal(new Set(CRYPTO_ERROR_CODES).size, CRYPTO_ERROR_CODES.length);
  });

  it("base64url is strict", () => {
    assert.equal(toBase64url(Uint8Array.of(0xfb, 0xff)), "-_8");
    assert.deepEqual(fromBase64url("-_8"), Uint8Array.of(0xfb, 0xff));
    for (const bad of ["-_9", "a", "ab=", "a+b/", " ab"]) assert.throws(() => fromBase64url(bad), (e: CryptoError) => e.code === "MALFORMED");
  });
});
