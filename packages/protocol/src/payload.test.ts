import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodePayload, encodePayload, PAYLOAD_VERSION, type Payload } from "./payload.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);
const id = "0190a8c4-5d6e-7f00-8a00-0000000000aa";
const file = { id: "0190a8c4-5d6e-7f00-8a00-000000000001", key: "a".repeat(43), digest: "b".repeat(43), size: 3, mime: "text/plain", name: "x.txt" };

describe("the end-to-end payload", () => {
  it("reads back every kind of payload it writes, with its version", () => {
    const payloads: Payload[] = [
      { v: 2, id, type: "text", text: "hello", sentAt: 5, profileKey: "k".repeat(43) },
      { v: 2, id, type: "file", file, sentAt: 6 },
      { v: 2, id, type: "sender-key", group: { id: file.id, name: "team" }, distribution: "abc_-" },
    ];
    for (const payload of payloads) {
      const bytes = encodePayload(payload);
      assert.equal(JSON.parse(new TextDecoder().decode(bytes)).v, PAYLOAD_VERSION);
      assert.deepEqual(decodePayload(bytes), payload);
    }
  });

  it("refuses a payload of the old version, which had no message id sealed inside", () => {
    assert.equal(decodePayload(utf8(JSON.stringify({ type: "text", text: "old", sentAt: 1 }))), undefined);
    assert.equal(decodePayload(utf8(JSON.stringify({ v: 1, type: "text", text: "old", sentAt: 1 }))), undefined);
    assert.equal(decodePayload(utf8(JSON.stringify({ v: 2, type: "text", text: "no id", sentAt: 1 }))), undefined);
  });

  it("refuses, without throwing, a version it does not know", () => {
    for (const v of [0, 1, 3, "2", null]) {
      assert.equal(decodePayload(utf8(JSON.stringify({ v, id, type: "text", text: "from the future", sentAt: 1 }))), undefined, String(v));
    }
  });

  it("refuses, without throwing, anything that is not a payload", () => {
    const junk = [new Uint8Array([0xff, 0xfe]), utf8("not json"), utf8("[]"), utf8("null"), utf8("42"), utf8(JSON.stringify({ v: 2, id, type: "voice", sentAt: 1 }))];
    for (const bytes of junk) assert.equal(decodePayload(bytes), undefined);
    assert.equal(decodePayload(utf8(JSON.stringify({ v: 2, id, type: "sender-key", group: { id: "x", name: "team" }, distribution: "a" }))), undefined);
    assert.equal(decodePayload(utf8(JSON.stringify({ v: 2, id, type: "text", text: "x", sentAt: 1, profileKey: "short" }))), undefined);
    assert.equal(decodePayload(utf8(JSON.stringify({ v: 2, id: "not-a-uuid", type: "text", text: "x", sentAt: 1 }))), undefined);
  });
});
