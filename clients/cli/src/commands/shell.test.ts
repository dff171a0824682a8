import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { shellWords } from "./shell.ts";

describe("the shell", () => {
  it("splits shell lines into words with quotes", () => {
    assert.deepEqual(shellWords(`--name "Ann Example" --status 'out sailing' --avatar me.png`), ["--name", "Ann Example", "--status", "out sailing", "--avatar", "me.png"]);
    assert.deepEqual(shellWords(String.raw`"say \"hi\"" x`), ['say "hi"', "x"]);
  });
});
