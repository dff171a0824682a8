import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { firstLine, readPassword, type PasswordInput } from "./password.ts";

function stdin(text: string | undefined, tty = false): PasswordInput & PassThrough {
  const s = new PassThrough() as PassThrough & PasswordInput;
  if (tty) {
    s.isTTY = true;
    s.setRawMode = () => s;
  }
  if (text !== undefined) s.end(text);
  return s;
}

describe("passwords", () => {
  it("reads the first line of standard input with --password-stdin", async () => {
    assert.equal(await readPassword(stdin("pass word 1\n"), () => undefined, { fromStdin: true, prompt: "" }), "pass word 1");
    assert.equal(await readPassword(stdin("crlf-ended\r\nmore"), () => undefined, { fromStdin: true, prompt: "" }), "crlf-ended");
    assert.equal(await readPassword(stdin("no newline"), () => undefined, { fromStdin: true, prompt: "" }), "no newline");
  });

  it("refuses to guess when there is no terminal and no --password-stdin", async () => {
    await assert.rejects(readPassword(stdin("x\n"), () => undefined, { fromStdin: false, prompt: "" }), { code: "NO_PASSWORD" });
  });

  it("prompts on a terminal without echoing, handling backspace", async () => {
    const input = stdin(undefined, true);
    const shown: string[] = [];
    const pw = readPassword(input, (t) => shown.push(t), { fromStdin: false, prompt: "password: " });
    input.write("secrex\u007ft\r");
    assert.equal(await pw, "secret");
    assert.deepEqual(shown, ["password: ", "\n"]);
  });

  it("asks twice when confirming, and refuses a mismatch", async () => {
    const input = stdin(undefined, true);
    const pw = readPassword(input, () => undefined, { fromStdin: false, prompt: "p: ", confirm: true });
    input.write("one\r");
    await new Promise((r) => setImmediate(r));
    input.write("two\r");
    await assert.rejects(pw, { code: "PASSWORD_MISMATCH" });
  });

  it("gives up on Ctrl-C", async () => {
    const input = stdin(undefined, true);
    const pw = readPassword(input, () => undefined, { fromStdin: false, prompt: "p: " });
    input.write("abc\u0003");
    await assert.rejects(pw, { code: "USAGE" });
  });

  it("takes only the first line", () => {
    assert.equal(firstLine("a\nb"), "a");
  });
});
