import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { KEM_CIPHERTEXT_LENGTH, KEM_PUBLIC_KEY_LENGTH, KEM_SEED_LENGTH, kemDecapsulate, kemEncapsulate, kemKeyPairFromSeed } from "../src/kem.ts";
import { hex, toHex } from "./providers.ts";

// FIPS 203 known-answer tests for ML-KEM-768, from C2SP Wycheproof (testvectors_v1,
// Apache-2.0, see vectors/wycheproof/LICENSE): key generation from the seed, decapsulation
// (with implicit rejection), and deterministic encapsulation including keys that must be refused.

interface Vector {
  tcId: number;
  comment?: string;
  result: "valid" | "invalid";
  [k: string]: unknown;
}

function load(name: string): Vector[] {
  const url = new URL(`./vectors/wycheproof/${name}`, import.meta.url);
  const file = JSON.parse(readFileSync(url, "utf8")) as { testGroups: { parameterSet: string; tests: Vector[] }[] };
  return file.testGroups.flatMap((g) => {
    assert.equal(g.parameterSet, "ML-KEM-768");
    return g.tests;
  });
}

function fails(f: () => unknown): boolean {
  try {
    f();
    return false;
  } catch {
    return true;
  }
}

describe("ML-KEM-768 known answers (Wycheproof)", () => {
  it("derives the encapsulation key from the seed and decapsulates to the expected secret", (t) => {
    const vectors = load("mlkem_768_test.json");
    let valid = 0;
    let invalid = 0;
    for (const v of vectors) {
      const seed = hex(v.seed as string);
      const ct = hex(v.c as string);
      const label = `tcId ${v.tcId}`;
      if (v.result === "valid") {
        assert.equal(seed.length, KEM_SEED_LENGTH, label);
        assert.equal(toHex(kemKeyPairFromSeed(seed).publicKey), v.ek, label);
        assert.equal(toHex(kemDecapsulate(seed, ct)), v.K, label);
        valid++;
      } else {
        // A seed or ciphertext of the wrong length.
        assert.ok(seed.length !== KEM_SEED_LENGTH || ct.length !== KEM_CIPHERTEXT_LENGTH, label);
        assert.ok(fails(() => kemDecapsulate(seed, ct)), label);
        invalid++;
      }
    }
    assert.ok(valid >= 150 && invalid >= 40);
    t.diagnostic(`${valid} valid and ${invalid} invalid vectors checked`);
  });

  it("encapsulates deterministically to the expected ciphertext and secret, and refuses bad keys", (t) => {
    const vectors = load("mlkem_768_encaps_test.json");
    let valid = 0;
    let invalid = 0;
    for (const v of vectors) {
      const ek = hex(v.ek as string);
      const m = hex(v.m as string);
      const label = `tcId ${v.tcId} ${v.comment ?? ""}`;
      if (v.result === "valid") {
        assert.equal(ek.length, KEM_PUBLIC_KEY_LENGTH, label);
        const { ciphertext, sharedSecret } = kemEncapsulate(ek, m);
        assert.equal(toHex(ciphertext), v.c, label);
        assert.equal(toHex(sharedSecret), v.K, label);
        valid++;
      } else {
        assert.throws(() => kemEncapsulate(ek, m), (e: { code?: string }) => e.code === "BAD_BUNDLE", label);
        invalid++;
      }
    }
    assert.ok(valid >= 100 && invalid >= 100);
    t.diagnostic(`${valid} valid and ${invalid} invalid vectors checked`);
  });

  it("gives an unrelated secret for a ciphertext altered or made for another key (implicit rejection)", () => {
    const a = kemKeyPairFromSeed(new Uint8Array(64).fill(1));
    const b = kemKeyPairFromSeed(new Uint8Array(64).fill(2));
    const { ciphertext, sharedSecret } = kemEncapsulate(a.publicKey);
    assert.deepEqual(kemDecapsulate(a.seed, ciphertext), sharedSecret);
    assert.notDeepEqual(kemDecapsulate(b.seed, ciphertext), sharedSecret);
    const bad = ciphertext.slice();
    bad[100]! ^= 1;
    assert.notDeepEqual(kemDecapsulate(a.seed, bad), sharedSecret);
    assert.throws(() => kemDecapsulate(a.seed, ciphertext.subarray(1)), (e: { code?: string }) => e.code === "MALFORMED");
    assert.deepEqual(a.seed, new Uint8Array(64).fill(1), "the seed is not wiped by use");
  });
});
