import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ERRORS, NatterError, type ErrorCode } from "@natter/protocol";
import { CLIENT_ERRORS, CliError, EXIT, describeError, exitCodeFor, toCliError, type CliErrorCode } from "./errors.ts";

describe("exit codes", () => {
  const expect: Array<[CliErrorCode, number]> = [
    ["BAD_CREDENTIALS", 2], ["ACCOUNT_LOCKED", 2], ["TOKEN_INVALID", 2], ["SESSION_ENDED", 2], ["NOT_LOGGED_IN", 2], ["BAD_BACKUP_PASSWORD", 2],
    ["NO_SERVICE", 69], ["UNAVAILABLE", 69], ["CONNECTION_LOST", 69],
    ["NO_SUCH_USER", 1], ["ALREADY_CONNECTED", 1], ["USERNAME_TAKEN", 1], ["USAGE", 1], ["ALREADY_RECEIVING", 1], ["INTERNAL", 1],
  ];
  for (const [code, exit] of expect) {
    it(`maps ${code} to ${exit}`, () => assert.equal(exitCodeFor(code), exit));
  }

  it("maps every code of both catalogues to one of 1, 2 and 69", () => {
    for (const code of [...Object.keys(ERRORS), ...Object.keys(CLIENT_ERRORS)] as CliErrorCode[]) {
      assert.ok(([EXIT.REFUSED, EXIT.AUTH, EXIT.NO_SERVICE] as number[]).includes(exitCodeFor(code)), code);
    }
  });
});

describe("error messages", () => {
  it("shows a protocol error in the catalogue's words", () => {
    for (const code of Object.keys(ERRORS) as ErrorCode[]) {
      assert.deepEqual(describeError(new NatterError(code, "server detail")), { code, message: ERRORS[code] });
      assert.equal(toCliError(new NatterError(code, "server detail")).message, ERRORS[code]);
    }
  });

  it("gives every client error a sentence", () => {
    for (const [code, message] of Object.entries(CLIENT_ERRORS)) {
      assert.equal(new CliError(code as CliErrorCode).message, message);
      assert.ok(message.length > 5);
    }
  });

  it("shows no detail of an unexpected error", () => {
    const shown = describeError(new TypeError("token abc.def.ghi"));
    assert.equal(shown.code, "INTERNAL");
    assert.doesNotMatch(shown.message, /abc/);
  });
});
