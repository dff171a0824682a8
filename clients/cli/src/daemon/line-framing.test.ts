import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LineFraming } from "./line-framing.ts";

const lines = (framed: ReturnType<LineFraming["push"]>): string[] => framed.map((f) => (f.kind === "line" ? f.line : "<too long>"));

describe("newline-delimited framing", () => {
  it("cuts lines across chunks, drops blank lines and a \\r before the newline", () => {
    const f = new LineFraming();
    assert.deepEqual(lines(f.push('{"a":1}\n{"b"')), ['{"a":1}']);
    assert.deepEqual(lines(f.push(':2}\r\n\n  \n{"c":3}')), ['{"b":2}']);
    assert.deepEqual(lines(f.end()), ['{"c":3}'], "the last line counts without its newline");
  });

  it("keeps a character split across chunks whole", () => {
    const f = new LineFraming();
    const bytes = Buffer.from('"é"\n');
    assert.deepEqual(lines([...f.push(bytes.subarray(0, 2)), ...f.push(bytes.subarray(2))]), ['"é"']);
  });

  it("reports a line past the bound once, skips it to its newline, and reads the next", () => {
    const f = new LineFraming(10);
    assert.deepEqual(lines(f.push("0123456789ab")), ["<too long>"]);
    assert.deepEqual(lines(f.push("cdefghij")), [], "still the same long line: nothing more");
    assert.deepEqual(lines(f.push("klm\nshort\n")), ["short"]);
  });
});
