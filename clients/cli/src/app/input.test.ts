import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CliError } from "../errors.ts";
import { parseInput } from "./input.ts";

describe("a line typed in the app", () => {
  it("sends text to the open conversation through the shell's send", () => {
    assert.deepEqual(parseInput("hello there", "bob"), { kind: "shell", line: "send bob hello there" });
    assert.deepEqual(parseInput("hello all", "#team"), { kind: "shell", line: "group send team hello all" });
    assert.deepEqual(parseInput("//not a command", "bob"), { kind: "shell", line: "send bob /not a command" });
  });

  it("refuses text with no conversation open", () => {
    assert.throws(() => parseInput("hello", undefined), (e: unknown) => e instanceof CliError && e.code === "USAGE");
  });

  it("sends a file to the open conversation", () => {
    assert.deepEqual(parseInput("/file ./a b.png", "bob"), { kind: "shell", line: "sendfile bob ./a b.png" });
    assert.deepEqual(parseInput("/file x.pdf", "#team"), { kind: "shell", line: "group sendfile team x.pdf" });
    assert.throws(() => parseInput("/file", "bob"), CliError);
    assert.throws(() => parseInput("/file x.pdf", undefined), CliError);
  });

  it("opens a user or a group, folding the name", () => {
    assert.deepEqual(parseInput("/open Bob", undefined), { kind: "open", conversation: "bob" });
    assert.deepEqual(parseInput("/open #Team", "bob"), { kind: "open", conversation: "#team" });
    assert.throws(() => parseInput("/open", "bob"), CliError);
    assert.throws(() => parseInput("/open a b", "bob"), CliError);
  });

  it("hands the shell's commands to its dispatch", () => {
    assert.deepEqual(parseInput("/group add team carol", "bob"), { kind: "shell", line: "group add team carol" });
    assert.deepEqual(parseInput("/verify bob --mark-verified", undefined), { kind: "shell", line: "verify bob --mark-verified" });
    assert.deepEqual(parseInput("/who", undefined), { kind: "shell", line: "who" });
    assert.deepEqual(parseInput("/wholasthr", undefined), { kind: "shell", line: "wholasthr" });
  });

  it("knows quit, help and an empty line", () => {
    assert.deepEqual(parseInput("/quit", "bob"), { kind: "quit" });
    assert.deepEqual(parseInput("/EXIT", undefined), { kind: "quit" });
    assert.deepEqual(parseInput("/help", undefined), { kind: "help" });
    assert.deepEqual(parseInput("   ", "bob"), { kind: "nothing" });
    assert.throws(() => parseInput("/", "bob"), CliError);
  });
});
