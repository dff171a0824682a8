import type { Writable } from "node:stream";
import { Decoder, Encoder } from "@msgpack/msgpack";
import { NatterError } from "./errors.ts";

/** Default largest frame either side accepts, header excluded. */
export const DEFAULT_MAX_FRAME = 1024 * 1024;

const HEADER = 4;
const encoder = new Encoder({ ignoreUndefined: true });
// Keep untrusted input shallow and small: msgpack maps become plain objects.
const decoder = new Decoder({ maxStrLength: DEFAULT_MAX_FRAME, maxBinLength: DEFAULT_MAX_FRAME, maxArrayLength: 10_000, maxMapLength: 1_000 });

/** One frame on the wire: 4-byte big-endian length, then a MessagePack map. */
export function encodeFrame(frame: object): Buffer {
  const body = encoder.encode(frame);
  const out = Buffer.allocUnsafe(HEADER + body.byteLength);
  out.writeUInt32BE(body.byteLength, 0);
  out.set(body, HEADER);
  return out;
}

/**
 * Writes a frame to a socket. Frames written in the same tick leave in one system call:
 * the socket is corked on the first and uncorked once the tick's work is done, so a burst
 * (a batch of deliveries, the answers to a batch of sends) costs one write, not one each.
 */
export function writeFrame(socket: Writable, frame: object): void {
  writeEncoded(socket, encodeFrame(frame));
}

/** Writes a frame already encoded (by `encodeFrame` or `encodeDeliverFrame`), corked as `writeFrame` does. */
export function writeEncoded(socket: Writable, frame: Uint8Array): void {
  if (socket.writableCorked === 0) {
    socket.cork();
    process.nextTick(uncork, socket);
  }
  socket.write(frame);
}

function uncork(socket: Writable): void {
  socket.uncork();
}

export function decodeBody(body: Uint8Array): unknown {
  try {
    // A plain Uint8Array view, so byte fields come out as Uint8Array rather than Buffer.
    return decoder.decode(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
  } catch (cause) {
    throw new NatterError("BAD_FRAME", "malformed frame: not MessagePack", { cause });
  }
}

/**
 * Splits a byte stream into frame bodies. Throws FRAME_TOO_LARGE as soon as a header
 * announces more than `maxFrame` bytes, before buffering any of it.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxFrame = DEFAULT_MAX_FRAME) {}

  /** Feed bytes; returns every complete frame body now available. */
  push(data: Buffer): Buffer[] {
    this.chunks.push(data);
    this.buffered += data.byteLength;
    const frames: Buffer[] = [];
    while (this.buffered >= HEADER) {
      const head = this.peek(HEADER);
      const length = head.readUInt32BE(0);
      if (length > this.maxFrame) {
        throw new NatterError("FRAME_TOO_LARGE", `frame of ${length} bytes is over the limit of ${this.maxFrame}`);
      }
      if (this.buffered < HEADER + length) break;
      frames.push(this.take(HEADER + length).subarray(HEADER));
    }
    return frames;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.byteLength >= n) return first;
    this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!;
  }

  private take(n: number): Buffer {
    const all = this.peek(n);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.byteLength > 0 ? [rest, ...this.chunks.slice(1)] : this.chunks.slice(1);
    this.buffered -= n;
    return out;
  }
}

/** MessagePack for stored records (inbox messages): the same encoding as frames, no length header. */
export function encodeRecord(record: object): Uint8Array {
  return encoder.encode(record);
}

// `{t: "deliver", msg: …}` up to its message: a map of two, its first pair and the second key
// (the encoding of `{t: "deliver", msg: null}` without the final nil).
const DELIVER_HEAD = encoder.encode({ t: "deliver", msg: null }).slice(0, -1);

/**
 * The `deliver` frame of a stored record, made without decoding it: the frame is the
 * record's bytes behind a fixed head, byte for byte what `encodeFrame({t: "deliver", msg})`
 * makes of the decoded record. The record must be one the services stored (`encodeRecord`).
 */
export function encodeDeliverFrame(record: Uint8Array): Buffer {
  const length = DELIVER_HEAD.byteLength + record.byteLength;
  const out = Buffer.allocUnsafe(HEADER + length);
  out.writeUInt32BE(length, 0);
  out.set(DELIVER_HEAD, HEADER);
  out.set(record, HEADER + DELIVER_HEAD.byteLength);
  return out;
}
