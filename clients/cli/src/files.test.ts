import assert from "node:assert/strict";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { numberedName, rechunk, safeFileName } from "./files.ts";
import { FakeBackend } from "./testing/fake-edge.ts";
import { run, tempDir } from "./testing/harness.ts";

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

describe("files through natter, against a fake edge", () => {
  const PW = "correct horse battery";
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let backend: FakeBackend;
  let n = 0;

  before(async () => {
    dir = await tempDir();
    backend = new FakeBackend();
  });
  after(async () => {
    await dir[Symbol.asyncDispose]();
  });

  async function registered(name: string): Promise<string> {
    const h = join(dir.path, `${name}-${n++}`);
    const r = await run(backend, ["--home", h, "register", name, "--password-stdin"], { stdin: `${PW}\n` });
    assert.equal(r.code, 0, r.err);
    return h;
  }

  async function file(name: string, bytes: Uint8Array): Promise<string> {
    const path = join(dir.path, `src-${n++}`);
    await mkdir(path);
    await writeFile(join(path, name), bytes);
    return join(path, name);
  }

  it("sends a file encrypted in chunks and saves it whole at the receiver", async () => {
    const alice = await registered("alice");
    const bob = await registered("bob");
    const data = new Uint8Array(700 * 1024).map((_, i) => (i * 7) & 0xff);
    const path = await file("notes.txt", data);
    backend.chunkSize = 64 * 1024;
    const sent = await run(backend, ["--home", alice, "--json", "send", "bob", "--file", path]);
    assert.equal(sent.code, 0, sent.err);
    assert.deepEqual(JSON.parse(sent.out).file, { name: "notes.txt", size: data.length, mime: "text/plain" });
    const chunks = backend.frames.filter((f) => f.t === "chunk");
    assert.ok(chunks.length > 10 && chunks.every((c) => c.t === "chunk" && c.data.byteLength <= 64 * 1024));
    assert.deepEqual(chunks.map((c) => c.t === "chunk" && c.last), [...Array(chunks.length - 1).fill(false), true]);
    const [stored] = [...backend.files.values()];
    assert.equal(Buffer.from(stored!).indexOf(Buffer.from(data.subarray(0, 64))), -1, "the server holds no plaintext");

    const got = await run(backend, ["--home", bob, "--json", "receive", "--wait", "0.2"]);
    assert.equal(got.code, 0, got.err);
    const line = JSON.parse(got.out);
    assert.deepEqual(Object.keys(line), ["id", "from", "type", "file", "sentAt"]);
    assert.deepEqual(line.file, { name: "notes.txt", size: data.length, mime: "text/plain", path: join(bob, "downloads", "notes.txt") });
    assert.deepEqual(new Uint8Array(await readFile(line.file.path)), data);
    assert.deepEqual(backend.inbox(backend.userId("bob")), [], "acked once saved");
  });

  it("refuses a file over the limit before any upload, with the catalogue's words", async () => {
    const alice = await registered("amy");
    await registered("ben");
    const path = await file("big.bin", new Uint8Array(2000));
    const before = backend.frames.length;
    backend.maxFile = 1000;
    try {
      const r = await run(backend, ["--home", alice, "send", "ben", "--file", path]);
      assert.deepEqual([r.code, r.err], [1, "natter: the file is larger than the server accepts\n"]);
      assert.equal(backend.frames.slice(before).filter((f) => f.t === "upload" || f.t === "chunk").length, 0);
    } finally {
      backend.maxFile = 100 * 1024 * 1024;
    }
  });

  it("saves hostile names inside the download folder and never overwrites", async () => {
    const alice = await registered("cleo");
    const bob = await registered("dora");
    const path = await file("a.bin", new Uint8Array([1, 2, 3]));
    for (const name of ["../../evil.sh", "../../evil.sh", "/etc/passwd"]) {
      const r = await run(backend, ["--home", alice, "send", "dora", "--file", path, "--name", name]);
      assert.equal(r.code, 0, r.err);
    }
    const downloads = join(dir.path, "dl-dora");
    const got = await run(backend, ["--home", bob, "--download-dir", downloads, "receive", "--wait", "0.2"]);
    assert.equal(got.code, 0, got.err);
    assert.match(got.out, /^\[\d\d:\d\d\] cleo: sent a file: evil\.sh \(3 B, application\/x-sh\) saved to \S+\/evil\.sh\n/);
    assert.deepEqual((await readdir(downloads)).sort(), ["evil (1).sh", "evil.sh", "passwd"]);
  });

  it("reports a file that expired or does not decrypt, keeps nothing of it, and acks it", async () => {
    const alice = await registered("erin");
    const bob = await registered("fred");
    const path = await file("doc.pdf", new Uint8Array(5000).fill(9));
    for (let i = 0; i < 2; i++) assert.equal((await run(backend, ["--home", alice, "send", "fred", "--file", path])).code, 0);
    const [expired, tampered] = [...backend.files.keys()].slice(-2);
    backend.files.delete(expired!);
    backend.files.get(tampered!)![100]! ^= 1;
    const downloads = join(dir.path, "dl-fred");
    const got = await run(backend, ["--home", bob, "--download-dir", downloads, "--json", "receive", "--wait", "0.2"]);
    assert.equal(got.code, 0, got.err);
    assert.equal(got.out, "");
    const warnings = got.err.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(warnings.map((w) => [w.warning, w.from]), [["NO_SUCH_FILE", "erin"], ["DOWNLOAD_FAILED", "erin"]]);
    assert.deepEqual(await readdir(downloads), [], "no partial file is left");
    assert.deepEqual(backend.inbox(backend.userId("fred")), []);
  });
});
