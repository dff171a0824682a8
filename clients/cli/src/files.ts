import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import { basename, extname, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { lookup } from "mime-types";
import {
  CryptoError, DEFAULT_CHUNK_SIZE, decryptAttachment, encryptAttachment, encryptedSize, fromBase64url, generateAttachmentKey, toBase64url,
  type Primitives,
} from "@natter/crypto";
import type { FileRef } from "@natter/protocol";
import type { Connection } from "./transport/connection.ts";
import { CliError } from "./errors.ts";
import type { SavedFile } from "./output.ts";
import type { ProgressFactory } from "./progress.ts";

/** The largest file natter sends, in plaintext bytes (the server may allow less). */
export const MAX_FILE_SIZE = 100 * 1024 * 1024;
/** Chunks of one upload in flight at once: enough to keep the pipe full, few enough to bound the edge's memory. */
export const UPLOAD_WINDOW = 4;
/** Whole-upload attempts when the connection drops midway (each with a fresh key). */
const UPLOAD_ATTEMPTS = 3;
/** Longest file name kept, in UTF-8 bytes. */
const MAX_NAME_BYTES = 200;

/** A local file checked for sending: it exists, is a regular file and is within MAX_FILE_SIZE. */
export interface LocalFile {
  path: string;
  size: number;
  /** The name the receiver is shown. */
  name: string;
  mime: string;
}

/** Checks a file before anything is sent; FILE_TOO_LARGE over the limit. */
export async function localFile(path: string, shownName?: string, maxSize = MAX_FILE_SIZE): Promise<LocalFile> {
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new Error("not a regular file");
    size = s.size;
  } catch (cause) {
    throw new CliError("NO_FILE", `cannot read ${path}: not a readable file`, { cause });
  }
  if (size > maxSize) throw new CliError("FILE_TOO_LARGE");
  const name = shownName ?? basename(path);
  return { path, size, name, mime: lookup(name) || "application/octet-stream" };
}

/**
 * Encrypts a file as it is read (a fresh key), and uploads the ciphertext in chunks of the
 * edge's size with UPLOAD_WINDOW chunks in flight; the `upload` announces the exact
 * ciphertext size first. A dropped connection starts the whole upload over on the next
 * one. Returns what the receiver needs, for the file message.
 */
export async function uploadFile(p: Primitives, connection: () => Promise<Connection>, file: LocalFile, progress: ProgressFactory): Promise<FileRef> {
  for (let attempt = 1; ; attempt++) {
    const c = await connection();
    const ciphertextSize = encryptedSize(file.size, DEFAULT_CHUNK_SIZE);
    if (ciphertextSize > c.limits.maxFile) throw new CliError("FILE_TOO_LARGE");
    try {
      return await uploadOnce(p, c, file, ciphertextSize, progress);
    } catch (err) {
      if (!(err instanceof CliError && err.code === "CONNECTION_LOST") || attempt >= UPLOAD_ATTEMPTS) throw err;
    }
  }
}

async function uploadOnce(p: Primitives, c: Connection, file: LocalFile, total: number, progress: ProgressFactory): Promise<FileRef> {
  const key = generateAttachmentKey(p);
  const source: AsyncIterable<Uint8Array> = file.size === 0 ? Readable.from([]) : createReadStream(file.path, { start: 0, end: file.size - 1 });
  const encrypted = encryptAttachment(p, key, source, { chunkSize: DEFAULT_CHUNK_SIZE });
  const { file: id } = await c.call({ t: "upload", size: total }, "upload");
  // Room for the frame's own fields within the edge's frame limit.
  const chunkSize = Math.max(1024, Math.min(c.limits.chunkSize, c.limits.maxFrame - 4096));
  const bar = progress(`sending ${file.name}`, total);
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let sent = 0;
  let acked = 0;
  let stored: { size: number } | undefined;
  try {
    for await (const { data, last } of rechunk(encrypted.ciphertext, chunkSize)) {
      sent += data.byteLength;
      if (sent > total || (last && sent !== total)) throw new CliError("NO_FILE", `${file.path} changed while it was being sent`);
      const request = last
        ? c.call({ t: "chunk", upload: id, data, last: true }, "stored").then((s) => void (stored = s))
        : c.call({ t: "chunk", upload: id, data, last: false }, "ok").then(() => undefined);
      const size = data.byteLength;
      const tracked = request.then(
        () => bar.update((acked += size)),
        (err: unknown) => void (failure ??= err),
      );
      inFlight.add(tracked);
      void tracked.finally(() => inFlight.delete(tracked));
      while (inFlight.size >= UPLOAD_WINDOW && failure === undefined) await Promise.race(inFlight);
      if (failure !== undefined) throw failure;
    }
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
  } finally {
    bar.stop();
  }
  if (stored?.size !== total) throw new CliError("INTERNAL", "the server stored a different size than was sent");
  return { id, key: toBase64url(key), digest: toBase64url(encrypted.digest()), size: file.size, mime: file.mime, name: file.name };
}

/** Regroups a byte stream into pieces of `size` (the last one shorter), telling which is last. */
export async function* rechunk(source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<{ data: Uint8Array; last: boolean }> {
  let buf = new Uint8Array(size);
  let fill = 0;
  let ready: Uint8Array | undefined;
  for await (const piece of source) {
    let off = 0;
    while (off < piece.byteLength) {
      if (fill === size) {
        if (ready) yield { data: ready, last: false };
        ready = buf;
        buf = new Uint8Array(size);
        fill = 0;
      }
      const n = Math.min(size - fill, piece.byteLength - off);
      buf.set(piece.subarray(off, off + n), fill);
      fill += n;
      off += n;
    }
  }
  if (ready && fill === 0) {
    yield { data: ready, last: true };
    return;
  }
  if (ready) yield { data: ready, last: false };
  yield { data: buf.subarray(0, fill), last: true };
}

/**
 * Downloads a file, decrypts it as it comes (checking every chunk and the digest) into a
 * temporary file in `dir`, and only when all of it checks out gives it a safe name there
 * (`safeFileName`, never overwriting: `name (1).ext`). NO_SUCH_FILE when it expired,
 * DOWNLOAD_FAILED when it does not decrypt; nothing is left behind either way.
 */
export async function downloadFile(p: Primitives, connection: Connection, ref: FileRef, dir: string, progress: ProgressFactory): Promise<SavedFile> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.natter-${randomBytes(8).toString("hex")}.part`);
  const bar = progress(`receiving ${safeFileName(ref.name)}`, ref.size);
  let written = 0;
  try {
    const plaintext = decryptAttachment(p, fromBase64url(ref.key), fromBase64url(ref.digest), connection.download(ref.id));
    async function* counted(): AsyncGenerator<Uint8Array> {
      for await (const chunk of plaintext) {
        written += chunk.byteLength;
        if (written > ref.size) throw new CryptoError("DECRYPT_FAILED");
        bar.update(written);
        yield chunk;
      }
    }
    await pipeline(Readable.from(counted()), createWriteStream(tmp, { flags: "wx", mode: 0o600 }));
    if (written !== ref.size) throw new CryptoError("DECRYPT_FAILED");
    const path = await placeUnique(tmp, dir, safeFileName(ref.name));
    return { name: basename(path), size: written, mime: ref.mime, path };
  } catch (err) {
    await rm(tmp, { force: true });
    if (err instanceof CryptoError) throw new CliError("DOWNLOAD_FAILED", undefined, { cause: err });
    throw err;
  } finally {
    bar.stop();
  }
}

/**
 * A name that is safe to create in the download folder whatever the sender wrote: the
 * last path segment only, no control or bidirectional-override characters, no leading or
 * trailing dots or spaces (so never `.`, `..` or a hidden file), at most MAX_NAME_BYTES
 * (keeping the extension), and `file` when nothing is left.
 */
export function safeFileName(name: string): string {
  // eslint-disable-next-line no-control-regex
  let n = name.normalize("NFC").replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, "");
  n = n.split(/[/\\]/).pop() ?? "";
  n = n.replace(/[<>:"|?*]/g, "_").replace(/^[.\s]+/, "").replace(/[.\s]+$/, "");
  if (Buffer.byteLength(n) > MAX_NAME_BYTES) {
    const ext = extname(n);
    const keep = ext.length > 0 && Buffer.byteLength(ext) <= 16 ? ext : "";
    n = truncateBytes(n.slice(0, n.length - keep.length), MAX_NAME_BYTES - Buffer.byteLength(keep)) + keep;
  }
  return n === "" ? "file" : n;
}

function truncateBytes(s: string, max: number): string {
  let out = "";
  for (const ch of s) {
    if (Buffer.byteLength(out + ch) > max) break;
    out += ch;
  }
  return out;
}

/** `report.pdf`, `report (1).pdf`, `report (2).pdf`… */
export function numberedName(name: string, n: number): string {
  if (n === 0) return name;
  const ext = extname(name);
  const stem = ext.length > 0 && ext.length < name.length ? name.slice(0, -ext.length) : name;
  return `${stem} (${n})${stem === name ? "" : ext}`;
}

/**
 * Moves `tmp` to the first free numbered variant of `name` in `dir`. The place is claimed
 * with an exclusive create first, so a file already there is never replaced.
 */
async function placeUnique(tmp: string, dir: string, name: string): Promise<string> {
  for (let n = 0; n < 10_000; n++) {
    const target = join(dir, numberedName(name, n));
    try {
      await (await open(target, "wx", 0o600)).close();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") continue;
      throw err;
    }
    await rename(tmp, target);
    return target;
  }
  throw new CliError("INTERNAL", "no free name for a received file");
}
