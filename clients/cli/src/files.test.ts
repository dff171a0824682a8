import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { numberedName, rechunk, safeFileName } from "./files.ts";

describe("safe file names", () => {
  const cases: Array<[string, string]> = [
    ["photo.jpg", "photo.jpg"],
    ["../../x", "x"],
    ["..\\..\\windows\\evil.exe", "evil.exe"],
    ["/etc/passwd", "passwd"],
    ["..", "file"],
    [".", "file"],
    ["", "file"],
    ["dir/", "file"],
    [".bashrc", "bashrc"],
    ["a\u0000b\nc\r.txt", "abc.txt"],
    ["\u001b[2Jclear.txt", "[2Jclear.txt"],
    ["invoice\u202efdp.exe", "invoicefdp.exe"],
    ["name. . .", "name"],
    ['what?<>:"|*.txt', "what_______.txt"],
    ["café.txt", "café.txt"],
  ];
  for (const [given, safe] of cases) {
    it(`turns ${JSON.stringify(given)} into ${JSON.stringify(safe)}`, () => assert.equal(safeFileName(given), safe));
  }

  it("keeps a long name under 200 bytes, with its extension", () => {
    const safe = safeFileName(`${"é".repeat(300)}.tar.gz`);
    assert.ok(Buffer.byteLength(safe) <= 200);
    assert.ok(safe.endsWith(".gz"));
    assert.ok(!safe.includes("\ufffd"));
  });

  it("numbers names that are taken: name (1).ext", () => {
    assert.equal(numberedName("report.pdf", 0), "report.pdf");
    assert.equal(numberedName("report.pdf", 1), "report (1).pdf");
    assert.equal(numberedName("x", 2), "x (2)");
  });
});

describe("upload chunking", () => {
  async function* pieces(sizes: number[]): AsyncGenerator<Uint8Array> {
    let v = 0;
    for (const n of sizes) yield Uint8Array.from({ length: n }, () => v++ & 0xff);
  }
  async function chunks(sizes: number[], size: number): Promise<Array<[number, boolean]>> {
    const out: Array<[number, boolean]> = [];
    for await (const c of rechunk(pieces(sizes), size)) out.push([c.data.byteLength, c.last]);
    return out;
  }

  it("regroups a stream into chunks of the edge's size and flags the last one", async () => {
    assert.deepEqual(await chunks([3, 7, 5], 4), [[4, false], [4, false], [4, false], [3, true]]);
    assert.deepEqual(await chunks([8], 4), [[4, false], [4, true]]);
    assert.deepEqual(await chunks([2], 4), [[2, true]]);
  });
});
