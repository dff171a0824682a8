import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { code } from "./fixtures.ts";
import { hex, providers, toHex } from "./providers.ts";

// Every valid vector must pass and every invalid one must be rejected; vectors the providers'
// calls cannot express are counted and reported as skipped, with the reason.

interface Test {
  tcId: number;
  result: "valid" | "invalid" | "acceptable";
  flags: string[];
  [k: string]: unknown;
}
interface Group {
  tests: Test[];
  [k: string]: unknown;
}

function load(name: string): Group[] {
  const url = new URL(`./vectors/wycheproof/${name}`, import.meta.url);
  return (JSON.parse(readFileSync(url, "utf8")) as { testGroups: Group[] }).testGroups;
}

class Tally {
  passed = 0;
  readonly skipped = new Map<string, number>();
  skip(reason: string): void {
    this.skipped.set(reason, (this.skipped.get(reason) ?? 0) + 1);
  }
  report(t: { diagnostic(m: string): void }): void {
    t.diagnostic(`${this.passed} vectors checked`);
    for (const [reason, n] of this.skipped) t.diagnostic(`skipped ${n}: ${reason}`);
  }
}

async function rejects(f: () => Promise<unknown>): Promise<boolean> {
  try {
    await f();
    return false;
  } catch {
    return true;
  }
}

for (const { name, p, subtle } of providers) {
  describe(`Wycheproof on ${name}`, () => {
    it("AES-GCM", async (t) => {
      const tally = new Tally();
      for (const g of load("aes_gcm_test.json")) {
        for (const v of g.tests) {
          if (g.ivSize !== 96) {
            tally.skip(`the package uses 96-bit nonces only (ivSize ${String(g.ivSize)})`);
            continue;
          }
          if (g.tagSize !== 128) {
            tally.skip("tag sizes other than 128 bits");
            continue;
          }
          const keyBytes = hex(v.key as string);
          const iv = hex(v.iv as string);
          const aad = hex(v.aad as string);
          const ctTag = hex(`${v.ct as string}${v.tag as string}`);
          if (keyBytes.length === 32) {
            // AES-256, the package's only key size: through the provider's own calls.
            if (v.result === "valid") {
              assert.equal(toHex(await p.aesGcmEncrypt(keyBytes, iv, hex(v.msg as string), aad)), toHex(ctTag), `tcId ${v.tcId}`);
              assert.equal(toHex(await p.aesGcmDecrypt(keyBytes, iv, ctTag, aad)), v.msg, `tcId ${v.tcId}`);
            } else {
              assert.equal(await code(() => p.aesGcmDecrypt(keyBytes, iv, ctTag, aad)), "DECRYPT_FAILED", `tcId ${v.tcId} must be rejected`);
            }
          } else if (subtle) {
            const alg = { name: "AES-GCM", iv, additionalData: aad, tagLength: 128 };
            const key = await subtle.importKey("raw", keyBytes, "AES-GCM", false, ["encrypt", "decrypt"]);
            if (v.result === "valid") {
              const ct = new Uint8Array(await subtle.encrypt(alg, key, hex(v.msg as string)));
              assert.equal(toHex(ct), toHex(ctTag), `tcId ${v.tcId}`);
              const pt = new Uint8Array(await subtle.decrypt(alg, key, ctTag));
              assert.equal(toHex(pt), v.msg, `tcId ${v.tcId}`);
            } else {
              assert.ok(await rejects(() => subtle.decrypt(alg, key, ctTag)), `tcId ${v.tcId} must be rejected`);
            }
          } else {
            tally.skip(`${String(g.keySize)}-bit keys: the package uses AES-256 only (checked beneath the WebCrypto providers)`);
            continue;
          }
          tally.passed++;
        }
      }
      tally.report(t);
    });

    it("Ed25519", async (t) => {
      const tally = new Tally();
      for (const g of load("ed25519_test.json")) {
        const pub = hex((g.publicKey as { pk: string }).pk);
        for (const v of g.tests) {
          const ok = await p.ed25519Verify(pub, hex(v.msg as string), hex(v.sig as string));
          assert.equal(ok, v.result === "valid", `tcId ${v.tcId} (${v.comment as string})`);
          tally.passed++;
        }
        // Signing is deterministic: where the group gives the private key, valid signatures must be reproduced.
        const sk = (g.privateKey as { sk?: string } | undefined)?.sk;
        if (sk) {
          assert.equal(toHex(await p.ed25519PublicKey(hex(sk))), toHex(pub));
          for (const v of g.tests.filter((x) => x.result === "valid")) {
            assert.equal(toHex(await p.ed25519Sign(hex(sk), hex(v.msg as string))), v.sig, `tcId ${v.tcId}`);
          }
        }
      }
      tally.report(t);
    });

    it("X25519", async (t) => {
      const tally = new Tally();
      for (const g of load("x25519_test.json")) {
        for (const v of g.tests) {
          const run = () => p.x25519(hex(v.private as string), hex(v.public as string));
          if (v.result === "valid") {
            assert.equal(toHex(await run()), v.shared, `tcId ${v.tcId}`);
            tally.passed++;
          } else if (v.result === "acceptable") {
            // Acceptable: either the right answer or a refusal (providers refuse an all-zero output).
            let out: Uint8Array | null = null;
            try {
              out = await run();
            } catch {
              assert.ok(v.flags.includes("ZeroSharedSecret") || v.flags.includes("LowOrderPublic"), `tcId ${v.tcId} refused unexpectedly`);
              tally.skip(`provider refuses ${v.flags.join("/")} (acceptable)`);
              continue;
            }
            assert.equal(toHex(out), v.shared, `tcId ${v.tcId}`);
            tally.passed++;
          } else {
            assert.ok(await rejects(run), `tcId ${v.tcId} must be rejected`);
            tally.passed++;
          }
        }
      }
      tally.report(t);
    });

    it("HKDF-SHA256", async (t) => {
      const tally = new Tally();
      for (const g of load("hkdf_sha256_test.json")) {
        for (const v of g.tests) {
          const run = () => p.hkdfSha256(hex(v.ikm as string), hex(v.salt as string), hex(v.info as string), v.size as number);
          if (v.result === "valid") {
            assert.equal(toHex(await run()), v.okm, `tcId ${v.tcId}`);
          } else {
            assert.ok(await rejects(run), `tcId ${v.tcId} must be rejected`);
          }
          tally.passed++;
        }
      }
      tally.report(t);
    });

    it("HMAC-SHA256", async (t) => {
      const tally = new Tally();
      for (const g of load("hmac_sha256_test.json")) {
        for (const v of g.tests) {
          const keyBytes = hex(v.key as string);
          const tag = hex(v.tag as string);
          const msg = hex(v.msg as string);
          // Truncated tags are compared with the MAC's prefix.
          const full = await p.hmacSha256(keyBytes, msg);
          assert.equal(toHex(full.subarray(0, tag.length)) === toHex(tag), v.result === "valid", `tcId ${v.tcId}`);
          if (subtle && tag.length === 32) {
            const key = await subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
            assert.equal(await subtle.verify("HMAC", key, tag, msg), v.result === "valid", `tcId ${v.tcId}`);
          }
          tally.passed++;
        }
      }
      tally.report(t);
    });
  });
}
