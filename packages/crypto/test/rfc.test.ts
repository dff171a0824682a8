import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hex, providers, toHex } from "./providers.ts";

const range = (from: number, to: number): Uint8Array => Uint8Array.from({ length: to - from + 1 }, (_, i) => from + i);

for (const { name, p } of providers) {
  describe(`RFC vectors on ${name}`, () => {
    it("RFC 7748 §5.2: X25519 of a given scalar and u-coordinate", async () => {
      const out = await p.x25519(
        hex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
        hex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"),
      );
      assert.equal(toHex(out), "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
    });

    it("RFC 7748 §5.2: iterated X25519, 1 and 1 000 iterations", async () => {
      let k = hex("0900000000000000000000000000000000000000000000000000000000000000");
      let u = k;
      for (let i = 1; i <= 1000; i++) {
        const next = await p.x25519(k, u);
        u = k;
        k = next;
        if (i === 1) assert.equal(toHex(k), "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
      }
      assert.equal(toHex(k), "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
    });

    it("RFC 7748 §6.1: Diffie-Hellman between Alice and Bob", async () => {
      const a = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
      const b = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
      const aPub = await p.x25519PublicKey(a);
      const bPub = await p.x25519PublicKey(b);
      assert.equal(toHex(aPub), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
      assert.equal(toHex(bPub), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
      const k = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
      assert.equal(toHex(await p.x25519(a, bPub)), k);
      assert.equal(toHex(await p.x25519(b, aPub)), k);
    });

    const ed = [
      {
        n: 1,
        sk: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        pk: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        msg: "",
        sig: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
      },
      {
        n: 2,
        sk: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        pk: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        msg: "72",
        sig: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
      },
      {
        n: 3,
        sk: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        pk: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        msg: "af82",
        sig: "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
      },
    ];
    for (const v of ed) {
      it(`RFC 8032 §7.1 test ${v.n}: public key, signature and verification`, async () => {
        assert.equal(toHex(await p.ed25519PublicKey(hex(v.sk))), v.pk);
        assert.equal(toHex(await p.ed25519Sign(hex(v.sk), hex(v.msg))), v.sig);
        assert.equal(await p.ed25519Verify(hex(v.pk), hex(v.msg), hex(v.sig)), true);
        const bad = hex(v.sig);
        bad[0]! ^= 1;
        assert.equal(await p.ed25519Verify(hex(v.pk), hex(v.msg), bad), false);
      });
    }

    it("RFC 5869 A.1: basic HKDF-SHA256", async () => {
      const okm = await p.hkdfSha256(new Uint8Array(22).fill(0x0b), range(0x00, 0x0c), range(0xf0, 0xf9), 42);
      assert.equal(toHex(okm), "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
    });

    it("RFC 5869 A.2: longer inputs and outputs", async () => {
      const okm = await p.hkdfSha256(range(0x00, 0x4f), range(0x60, 0xaf), range(0xb0, 0xff), 82);
      assert.equal(
        toHex(okm),
        "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87",
      );
    });

    it("RFC 5869 A.3: zero-length salt and info", async () => {
      const okm = await p.hkdfSha256(new Uint8Array(22).fill(0x0b), new Uint8Array(0), new Uint8Array(0), 42);
      assert.equal(toHex(okm), "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
    });
  });
}
