import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import { NatterError } from "@natter/protocol";
import { CliError } from "../errors.ts";
import { parseLine, parseParams, RPC_ERRORS, toRpcError } from "./json-rpc.ts";

const invalid = (line: string): { id: unknown; code: number; message: string } => {
  const p = parseLine(line);
  assert.equal(p.kind, "invalid");
  if (p.kind !== "invalid") throw new Error("unreachable");
  return { id: p.id, code: p.error.code, message: p.error.message };
};

describe("JSON-RPC lines", () => {
  it("reads a request and a notification", () => {
    assert.deepEqual(parseLine('{"jsonrpc":"2.0","id":7,"method":"who","params":{"lastHour":true}}'), {
      kind: "request", request: { id: 7, method: "who", params: { lastHour: true } },
    });
    assert.deepEqual(parseLine('{"jsonrpc":"2.0","method":"who"}'), { kind: "request", request: { method: "who", params: {} } });
  });

  it("answers what is not JSON with a parse error and no id", () => {
    assert.deepEqual(invalid("{not json"), { id: null, code: RPC_ERRORS.PARSE, message: "parse error: the line is not JSON" });
  });

  it("refuses a batch with a clear invalid-request error", () => {
    const e = invalid('[{"jsonrpc":"2.0","id":1,"method":"who"}]');
    assert.equal(e.code, RPC_ERRORS.INVALID_REQUEST);
    assert.match(e.message, /batch requests are not supported/);
  });

  it("refuses a request of the wrong shape, echoing its id when it is one", () => {
    assert.equal(invalid('{"jsonrpc":"1.0","id":"a","method":"who"}').id, "a");
    assert.equal(invalid('{"jsonrpc":"2.0","id":{"x":1},"method":"who"}').id, null);
    assert.match(invalid('{"jsonrpc":"2.0","id":3}').message, /method/);
    assert.match(invalid('{"jsonrpc":"2.0","id":3,"method":"who","extra":1}').message, /invalid request/);
    assert.equal(invalid('"just a string"').code, RPC_ERRORS.INVALID_REQUEST);
  });

  it("checks params by name and names the bad paths, never their values", () => {
    const schema = z.object({ to: z.string(), text: z.string() }).strict();
    assert.deepEqual(parseParams(schema, { to: "ann", text: "hi" }), { to: "ann", text: "hi" });
    assert.throws(() => parseParams(schema, ["ann", "hi"]), (e: { code: number; message: string }) => e.code === RPC_ERRORS.INVALID_PARAMS && /by name/.test(e.message));
    assert.throws(
      () => parseParams(schema, { to: "ann", text: 42, secret: "the words of a message" }),
      (e: { code: number; message: string }) => e.code === RPC_ERRORS.INVALID_PARAMS && /text/.test(e.message) && !e.message.includes("the words of a message"),
    );
  });

  it("maps natter's errors to a JSON-RPC code with natter's code in data, and hides unexpected ones", () => {
    assert.deepEqual(toRpcError(new CliError("USAGE", "send a file or a text, not both")).toObject(), {
      code: RPC_ERRORS.INVALID_PARAMS, message: "send a file or a text, not both", data: { code: "USAGE" },
    });
    assert.deepEqual(toRpcError(new NatterError("NO_SUCH_USER", "server text")).toObject().data, { code: "NO_SUCH_USER" });
    assert.equal(toRpcError(new NatterError("NO_SUCH_USER", "server text")).code, RPC_ERRORS.REFUSED);
    assert.equal(toRpcError(new CliError("SESSION_ENDED")).code, RPC_ERRORS.AUTH);
    assert.equal(toRpcError(new CliError("CONNECTION_LOST")).code, RPC_ERRORS.NO_SERVICE);
    const hidden = toRpcError(new Error("key material 0xdeadbeef")).toObject();
    assert.deepEqual(hidden, { code: RPC_ERRORS.INTERNAL, message: "something went wrong in natter", data: { code: "INTERNAL" } });
  });
});
