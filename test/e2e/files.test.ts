/**
 * End to end: files on the real stack with real `natter` processes — to a user and to a
 * group, to someone offline, over the limit, under a hostile name — and a scan of
 * everything the servers keep for any plaintext.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { mkdir, readFile, readdir, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32, deflateSync } from "node:zlib";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import pg from "pg";
import { names } from "@natter/protocol";
import { startFixture, type Fixture } from "../support/stack-fixture.ts";
import { Listener, natter, newHome, type Result } from "../support/cli.ts";

const PASSWORD = "correct horse battery";
let fx: Fixture;
let work: string;
/** A random marker in every file and text sent: none may appear in anything the servers keep. */
const markers: string[] = [];

function marker(): string {
  const m = `MARK${randomBytes(32).toString("hex")}`;
  markers.push(m);
  return m;
}

interface User {
  name: string;
  home: string;
  downloads: string;
}

async function register(name: string): Promise<User> {
  const home = newHome();
  const result = await natter(home, fx.stack.servers, ["register", name, "--password-stdin"], { stdin: `${PASSWORD}\n` });
  assert.equal(result.code, 0, `register ${name}: ${result.stderr}`);
  return { name, home, downloads: join(home, "downloads") };
}

async function ok(user: User, args: string[], timeoutMs = 120_000): Promise<Result> {
  const result = await natter(user.home, fx.stack.servers, args, { timeoutMs });
  assert.equal(result.code, 0, `${user.name} ${args.join(" ")}: ${result.stderr}`);
  return result;
}

interface TestFile {
  path: string;
  name: string;
  size: number;
  sha256: string;
  mime: string;
}

/** Random bytes with a marker near the start, written in pieces (never all in memory for the big one). */
async function randomFile(name: string, size: number): Promise<TestFile> {
  const path = join(work, name);
  const head = Buffer.concat([Buffer.from(marker()), randomBytes(Math.max(0, Math.min(size, 1 << 20) - 68))]).subarray(0, Math.min(size, 1 << 20));
  await writeFile(path, head);
  const hash = createHash("sha256").update(head);
  for (let written = head.length; written < size; ) {
    const piece = randomBytes(Math.min(4 << 20, size - written));
    await writeFile(path, piece, { flag: "a" });
    hash.update(piece);
    written += piece.length;
  }
  return { path, name, size, sha256: hash.digest("hex"), mime: "application/octet-stream" };
}

/** A real 64×48 RGB PNG (a gradient) with the marker in a tEXt chunk. */
async function pngFile(name: string): Promise<TestFile> {
  const chunk = (type: string, data: Buffer): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, "latin1");
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, crc]);
  };
  const width = 64;
  const height = 48;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit, truecolour, deflate, no filter method, no interlace
  const rows: number[] = [];
  for (let y = 0; y < height; y++) {
    rows.push(0); // filter: none
    for (let x = 0; x < width; x++) rows.push(x * 4, y * 5, (x + y) * 2);
  }
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("tEXt", Buffer.from(`Comment\0${marker()}`, "latin1")),
    chunk("IDAT", deflateSync(Buffer.from(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
  return written(name, png, "image/png");
}

/** A real 1 s, 8 kHz, 16-bit mono WAV of a 440 Hz tone, with the marker in a LIST/INFO chunk. */
async function wavFile(name: string): Promise<TestFile> {
  const rate = 8000;
  const samples = Buffer.alloc(rate * 2);
  for (let i = 0; i < rate; i++) samples.writeInt16LE(Math.round(Math.sin((2 * Math.PI * 440 * i) / rate) * 12000), i * 2);
  const fmt = Buffer.alloc(16);
  fmt.writeUInt16LE(1, 0); // PCM
  fmt.writeUInt16LE(1, 2); // mono
  fmt.writeUInt32LE(rate, 4);
  fmt.writeUInt32LE(rate * 2, 8); // byte rate
  fmt.writeUInt16LE(2, 12); // block align
  fmt.writeUInt16LE(16, 14); // bits per sample
  const sub = (id: string, data: Buffer): Buffer => {
    const head = Buffer.alloc(8);
    head.write(id, 0, "latin1");
    head.writeUInt32LE(data.length, 4);
    return Buffer.concat([head, data, data.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)]);
  };
  const comment = Buffer.from(`${marker()}\0`, "latin1");
  const info = Buffer.concat([Buffer.from("INFO", "latin1"), sub("ICMT", comment)]);
  const body = Buffer.concat([Buffer.from("WAVE", "latin1"), sub("fmt ", fmt), sub("LIST", info), sub("data", samples)]);
  return written(name, Buffer.concat([Buffer.from("RIFF", "latin1"), u32le(body.length), body]), "audio/wav");
}

function u32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n, 0);
  return b;
}

async function written(name: string, data: Buffer, mime: string): Promise<TestFile> {
  const path = join(work, name);
  await writeFile(path, data);
  return { path, name, size: data.length, sha256: createHash("sha256").update(data).digest("hex"), mime };
}

async function sha256Of(path: string): Promise<string> {
  return createHash("sha256").update(await readFile(path)).digest("hex");
}

/** Checks that every file arrived once, whole and named as sent, inside `downloads`. */
async function assertArrived(lines: Array<Record<string, unknown>>, files: TestFile[], downloads: string, group?: string): Promise<void> {
  const got = lines.filter((l) => l["type"] === "file" && l["group"] === group);
  assert.equal(got.length, files.length, `files shown: ${JSON.stringify(got)}`);
  for (const f of files) {
    const line = got.find((l) => (l["file"] as { name: string }).name === f.name);
    assert.ok(line, `${f.name} arrived`);
    const info = line["file"] as { name: string; size: number; mime: string; path: string };
    assert.equal(info.size, f.size);
    assert.equal(info.mime, f.mime);
    assert.equal(info.path, join(downloads, f.name));
    assert.equal(await sha256Of(info.path), f.sha256, `${f.name} is byte-identical`);
  }
}

before(async () => {
  fx = await startFixture();
  work = mkdtempSync(join(tmpdir(), "natter-files-"));
});

after(async () => {
  await fx?.stop();
});

describe("files", () => {
  let alice: User, bob: User, carol: User;
  let files: TestFile[];

  before(async () => {
    [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map(register)) as [User, User, User];
    files = [
      await randomFile("one-kib.bin", 1024),
      await randomFile("five-mib.bin", 5 << 20),
      await randomFile("sixty-mib.bin", 60 << 20),
      await pngFile("gradient.png"),
      await wavFile("tone.wav"),
    ];
  });

  it("carries files of any kind and size byte-identical to a user who was offline", async () => {
    for (const f of files) {
      const sent = await ok(alice, ["send", "bob", "--file", f.path]);
      assert.deepEqual([sent.json[0]!["to"], sent.json[0]!["status"]], ["bob", "accepted"]);
    }
    const got = await ok(bob, ["receive", "--wait", "1"]);
    await assertArrived(got.json, files, bob.downloads);
    assert.deepEqual((await readdir(bob.downloads)).sort(), files.map((f) => f.name).sort(), "no temporary file is left behind");
  });

  it("carries them to a group: to a member listening and to one who was offline", async () => {
    const created = await ok(alice, ["group", "create", "media", "bob", "carol"]);
    assert.equal(created.json[0]!["status"], "created");
    const bobDownloads = join(bob.home, "group-downloads");
    const listener = new Listener(bob.home, fx.stack.servers, ["--download-dir", bobDownloads]);
    try {
      await listener.waitFor((l) => l["status"] === "listening");
      const text = `caption ${marker()}`;
      await ok(alice, ["group", "send", "media", text]);
      for (const f of files) {
        const sent = await ok(alice, ["group", "send", "media", "--file", f.path]);
        assert.deepEqual([sent.json[0]!["group"], sent.json[0]!["status"]], ["media", "accepted"]);
      }
      await listener.waitFor((l) => l["type"] === "file", files.length, 120_000);
      await assertArrived(listener.lines, files, bobDownloads, "media");
      assert.equal(listener.lines.filter((l) => l["text"] === text).length, 1);
    } finally {
      await listener.stop();
    }
    const carolGot = await ok(carol, ["receive", "--wait", "1"]);
    await assertArrived(carolGot.json, files, carol.downloads, "media");
  });

  it("refuses a file over the limit before uploading anything", async () => {
    const big = join(work, "too-big.bin");
    await writeFile(big, "");
    await truncate(big, 100 * 1024 * 1024 + 1); // sparse: takes no room
    const before = await objectCount();
    const refused = await natter(alice.home, fx.stack.servers, ["send", "bob", "--file", big]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.deepEqual(JSON.parse(refused.stderr.trim()), { error: "FILE_TOO_LARGE", message: "the file is larger than the server accepts" });
    const human = await natter(alice.home, fx.stack.servers, ["group", "send", "media", "--file", big]);
    assert.equal(human.code, 1);
    assert.equal(await objectCount(), before, "nothing was uploaded");
  });

  it("saves a file under a hostile name safely inside the download folder, never overwriting", async () => {
    const small = await randomFile("plain.txt", 300);
    for (const shown of ["../../x", "../../x"]) await ok(alice, ["send", "bob", "--file", small.path, "--name", shown]);
    const dir = join(bob.home, "elsewhere", "dl");
    await mkdir(dir, { recursive: true });
    const got = await natter(bob.home, fx.stack.servers, ["--download-dir", dir, "receive", "--wait", "1"]);
    assert.equal(got.code, 0, got.stderr);
    const paths = got.json.filter((l) => l["type"] === "file").map((l) => (l["file"] as { path: string }).path);
    assert.deepEqual(paths, [join(dir, "x"), join(dir, "x (1)")]);
    for (const path of paths) assert.equal(await sha256Of(path), small.sha256);
    await assert.rejects(stat(join(bob.home, "x")), "nothing lands outside the folder");
    assert.deepEqual((await readdir(dir)).sort(), ["x", "x (1)"]);
  });

  it("leaves no plaintext of any message or file in Postgres, the streams or the object store", async () => {
    assert.ok(markers.length >= 7);
    await assertNoPlaintext();
  });
});

async function objectCount(): Promise<number> {
  const nc = await connect({ servers: fx.services.natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(`OBJ_${names(fx.services.namespace).attachments}`).catch(() => null);
    return info?.state.messages ?? 0;
  } finally {
    await nc.close();
  }
}

async function assertNoPlaintext(): Promise<void> {
  const needles = markers.flatMap((m) => [Buffer.from(m), Buffer.from(Buffer.from(m).toString("hex"))]);
  const client = new pg.Client({ connectionString: fx.services.databaseUrl });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ schema: string; name: string }>(
      "SELECT table_schema AS schema, table_name AS name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
    );
    for (const { schema, name } of tables) {
      const { rows } = await client.query(`SELECT t::text AS row FROM "${schema}"."${name}" t`);
      const dump = Buffer.from(rows.map((r: { row: string }) => r.row).join("\n"));
      for (const needle of needles) assert.equal(dump.indexOf(needle), -1, `${schema}.${name} holds plaintext`);
    }
  } finally {
    await client.end();
  }
  const n = names(fx.services.namespace);
  const nc = await connect({ servers: fx.services.natsUrl });
  let scanned = 0;
  try {
    const jsm = await jetstreamManager(nc);
    for (const stream of [n.inboxStream, n.groupStream, `OBJ_${n.attachments}`]) {
      const info = await jsm.streams.info(stream);
      for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
        const message = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
        if (!message) continue;
        scanned++;
        const raw = Buffer.from(message.data);
        for (const needle of needles) assert.equal(raw.indexOf(needle), -1, `${stream} holds plaintext`);
      }
    }
  } finally {
    await nc.close();
  }
  assert.ok(scanned > 500, `the scan saw the stored files (${scanned} messages)`);
}
