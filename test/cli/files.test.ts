/**
 * Files through natter run in process against the real services: encrypted in chunks of
 * the edge's size into the real object store, saved whole at the receiver, and a file
 * that has expired or been tampered with there.
 */
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ClientFrameOf } from "@natter/protocol";
import { run, type Target } from "../../clients/cli/src/testing/harness.ts";
import { CliWorld } from "../support/cli-world.ts";

const CHUNK = 64 * 1024;

describe("files through natter, against the real services", () => {
  let world: CliWorld;
  // Through the recording proxy, to see the chunks and the files' ids.
  let edge: Target;

  before(async () => {
    world = await CliWorld.start({ EDGE_CHUNK_SIZE: String(CHUNK) });
    edge = world.recorded;
  });
  after(async () => {
    await world?.stop();
  });

  const registered = (name: string): Promise<string> => world.registered(name, edge);

  const file = (name: string, bytes: Uint8Array): Promise<string> => world.fileToSend(name, bytes);

  /** The ids of the files the edge said it stored, oldest first. */
  const storedFiles = (): string[] => world.proxy.received.flatMap((f) => (f.t === "stored" ? [f.file] : []));

  it("sends a file encrypted in chunks and saves it whole at the receiver", async () => {
    const alice = await registered("alice");
    const bob = await registered("bob");
    const data = new Uint8Array(700 * 1024).map((_, i) => (i * 7) & 0xff);
    const path = await file("notes.txt", data);
    const before = world.proxy.sent.length;
    const sent = await run(edge, ["--home", alice, "--json", "send", "bob", "--file", path]);
    assert.equal(sent.code, 0, sent.err);
    assert.deepEqual(JSON.parse(sent.out).file, { name: "notes.txt", size: data.length, mime: "text/plain" });
    const chunks = world.proxy.sent.slice(before).filter((f): f is ClientFrameOf<"chunk"> => f.t === "chunk");
    assert.ok(chunks.length > 10 && chunks.every((c) => c.t === "chunk" && c.data.byteLength <= CHUNK));
    assert.deepEqual(chunks.map((c) => c.t === "chunk" && c.last), [...Array(chunks.length - 1).fill(false), true]);
    const [id] = storedFiles();
    const stored = await world.probe.file(id!);
    assert.equal(Buffer.from(stored!).indexOf(Buffer.from(data.subarray(0, 64))), -1, "the server holds no plaintext");

    const got = await run(edge, ["--home", bob, "--json", "receive", "--wait", "0.2"]);
    assert.equal(got.code, 0, got.err);
    const line = JSON.parse(got.out);
    assert.deepEqual(Object.keys(line), ["id", "from", "type", "file", "sentAt"]);
    assert.deepEqual(line.file, { name: "notes.txt", size: data.length, mime: "text/plain", path: join(bob, "downloads", "notes.txt") });
    assert.deepEqual(new Uint8Array(await readFile(line.file.path)), data);
    assert.equal(await world.probe.waitingAfterAcks("bob"), 0, "acked once saved");
  });

  it("saves hostile names inside the download folder and never overwrites", async () => {
    const alice = await registered("cleo");
    const bob = await registered("dora");
    const path = await file("a.bin", new Uint8Array([1, 2, 3]));
    for (const name of ["../../evil.sh", "../../evil.sh", "/etc/passwd"]) {
      const r = await run(edge, ["--home", alice, "send", "dora", "--file", path, "--name", name]);
      assert.equal(r.code, 0, r.err);
    }
    const downloads = world.path("dl-dora");
    const got = await run(edge, ["--home", bob, "--download-dir", downloads, "receive", "--wait", "0.2"]);
    assert.equal(got.code, 0, got.err);
    assert.match(got.out, /^\[\d\d:\d\d\] cleo: sent a file: evil\.sh \(3 B, application\/x-sh\) saved to \S+\/evil\.sh\n/);
    assert.deepEqual((await readdir(downloads)).sort(), ["evil (1).sh", "evil.sh", "passwd"]);
  });

  it("reports a file that expired or does not decrypt, keeps nothing of it, and acks it", async () => {
    const alice = await registered("erin");
    const bob = await registered("fred");
    const path = await file("doc.pdf", new Uint8Array(5000).fill(9));
    for (let i = 0; i < 2; i++) assert.equal((await run(edge, ["--home", alice, "send", "fred", "--file", path])).code, 0);
    const [expired, tampered] = storedFiles().slice(-2);
    await world.probe.expireFile(expired!);
    await world.probe.tamperFile(tampered!, 100);
    const downloads = world.path("dl-fred");
    const got = await run(edge, ["--home", bob, "--download-dir", downloads, "--json", "receive", "--wait", "0.2"]);
    assert.equal(got.code, 0, got.err);
    assert.equal(got.out, "");
    const warnings = got.err.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(warnings.map((w) => [w.warning, w.from]), [["NO_SUCH_FILE", "erin"], ["DOWNLOAD_FAILED", "erin"]]);
    assert.deepEqual(await readdir(downloads), [], "no partial file is left");
    assert.equal(await world.probe.waitingAfterAcks("fred"), 0);
  });
});

describe("files through natter, against an edge that takes at most 1000 bytes", () => {
  let world: CliWorld;

  before(async () => {
    world = await CliWorld.start({ EDGE_MAX_FILE: "1000" });
  });
  after(async () => {
    await world?.stop();
  });

  it("refuses a file over the limit before any upload, with the catalogue's words", async () => {
    const edge = world.recorded;
    const alice = await world.registered("amy", edge);
    await world.registered("ben", edge);
    const path = await world.fileToSend("big.bin", new Uint8Array(2000));
    const before = world.proxy.sent.length;
    const r = await run(edge, ["--home", alice, "send", "ben", "--file", path]);
    assert.deepEqual([r.code, r.err], [1, "natter: the file is larger than the server accepts\n"]);
    assert.equal(world.proxy.sent.slice(before).filter((f) => f.t === "upload" || f.t === "chunk").length, 0);
  });
});
