import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeBody, encodeDeliverFrame, encodeFrame, encodeRecord, FrameReader } from "./codec.ts";
import { ServerFrame } from "./frames.ts";
import { parse } from "./parse.ts";
import { NatterError } from "./errors.ts";

describe("frame codec", () => {
  it("reads back frames however the stream is cut", () => {
    fc.assert(fc.property(
      fc.array(fc.record({ t: fc.string(), id: fc.nat(), body: fc.uint8Array({ maxLength: 300 }) }, { noNullPrototype: true }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
      (frames, cuts) => {
        const wire = Buffer.concat(frames.map((f) => encodeFrame(f)));
        const reader = new FrameReader();
        const out: unknown[] = [];
        let at = 0;
        for (let i = 0; at < wire.length; i++) {
          const size = cuts[i % cuts.length]!;
          for (const body of reader.push(wire.subarray(at, at + size))) out.push(decodeBody(body));
          at += size;
        }
        assert.deepEqual(out, frames);
      },
    ), { numRuns: 200 });
  });

  it("refuses a frame over the limit as soon as its header arrives", () => {
    const reader = new FrameReader(1024);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1025);
    assert.throws(() => reader.push(header), (e: unknown) => e instanceof NatterError && e.code === "FRAME_TOO_LARGE");
  });

  it("calls a body that is not MessagePack a bad frame", () => {
    assert.throws(() => decodeBody(Buffer.from([0xc1])), (e: unknown) => e instanceof NatterError && e.code === "BAD_FRAME");
  });

  it("makes a stored record's deliver frame without decoding it, byte for byte the encoded frame", () => {
    fc.assert(fc.property(
      fc.uuid(), fc.uuid(), fc.uint8Array({ maxLength: 2000 }), fc.nat(), fc.option(fc.uuid().map((id) => ({ id, name: "team" })), { nil: undefined }),
      (id, from, body, sentAt, group) => {
        const msg = { v: 1, id, from, fromName: "alice", body, sentAt, group };
        const frame = encodeDeliverFrame(encodeRecord(msg));
        assert.deepEqual(frame, encodeFrame({ t: "deliver", msg }));
        const [read] = new FrameReader().push(frame);
        const parsed = parse(ServerFrame, decodeBody(read!));
        assert.equal(parsed.t, "deliver");
      },
    ), { numRuns: 100 });
  });
});
