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
    const { signedPrekey: spk, kemLastResortPrekey: kem } = await d.rotateSignedPrekey();
    assert.notEqual(spk.id, bundle.signedPrekey.id);
    assert.notEqual(kem.id, bundle.kemLastResortPrekey?.id, "the last-resort KEM prekey rotates with the signed prekey");
    const rotated = await verifyBundle(p, d.publicBundle());
    assert.deepEqual(rotated.kemLastResortPrekey, kem);
  });

  it("publishes ML-KEM-768 prekeys, each signed under its own label", async () => {
    const d = await DeviceIdentity.generate(p, { oneTimePrekeys: 1, kemPrekeys: 2 });
    const b = d.publicBundle();
    assert.equal(b.kemOneTimePrekeys?.length, 2);
    assert.equal(fromBase64url(b.kemLastResortPrekey!.publicKey).length, 1184);
    assert.equal(d.kemOneTimePrekeyCount(), 2);
    assert.equal((await d.addKemPrekeys(3)).length, 3);
    assert.equal(d.kemOneTimePrekeyCount(), 5);
    // A one-time KEM prekey's signature does not pass as the last-resort one's, nor as a curve prekey's.
    const otk = b.kemOneTimePrekeys![0]!;
    assert.equal(await code(() => verifyBundle(p, { ...b, kemLastResortPrekey: otk })), "BAD_SIGNATURE");
    const sig = fromBase64url(otk.signature);
    sig[3]! ^= 1;
    assert.equal(await code(() => verifyBundle(p, { ...b, kemOneTimePrekeys: [{ ...otk, signature: toBase64url(sig) }] })), "BAD_SIGNATURE");
    assert.equal(await code(() => verifyBundle(p, { ...b, kemOneTimePrekeys: [{ ...otk, publicKey: b.oneTimePrekeys[0]!.publicKey }] })), "BAD_BUNDLE");
    const back = await DeviceIdentity.fromJSON(p, JSON.parse(JSON.stringify(d.toJSON())));
    assert.deepEqual(back.publicBundle(), d.publicBundle());
  });

  it("reads a device made before PQXDH, which makes its KEM prekeys when asked", async () => {
    const d = await DeviceIdentity.generate(p, { oneTimePrekeys: 1 });
    const { kemLastResortPrekey: _a, previousKemLastResortPrekey: _b, kemOneTimePrekeys: _c, nextKemPrekeyId: _d, ...old } = d.toJSON();
    const before = await DeviceIdentity.fromJSON(p, old);
    assert.equal(before.kemLastResortPrekey(), null);
    assert.equal(before.publicBundle().kemLastResortPrekey, undefined);
    const added = await before.addKemPrekeys(2);
    assert.equal(added.length, 2);
    assert.notEqual(before.kemLastResortPrekey(), null);
    await verifyBundle(p, before.publicBundle());
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
    const { oneTimePrekeys, kemOneTimePrekeys: _kem, ...claim } = b;
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
