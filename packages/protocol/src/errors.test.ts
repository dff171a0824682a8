import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { ERRORS, NatterError } from "./errors.ts";

const root = resolve(import.meta.dirname, "../../..");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === "node_modules" || name.endsWith(".test.ts")) return [];
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith(".ts") ? [path] : [];
  });
}

describe("error catalogue", () => {
  it("documents every code with a sentence", () => {
    for (const [code, message] of Object.entries(ERRORS)) {
      assert.match(code, /^[A-Z_]+$/);
      assert.ok(message.length > 5, `${code} needs a message`);
    }
  });

  it("has no code that nothing raises", () => {
    const code = ["packages", "services", "clients"]
      .flatMap((d) => sources(join(root, d)))
      .filter((f) => !f.endsWith("errors.ts"))
      .map((f) => readFileSync(f, "utf8"))
      .join("\n");
    const unused = Object.keys(ERRORS).filter((c) => !code.includes(`"${c}"`));
    assert.deepEqual(unused, []);
  });

  it("carries its code, name and cause", () => {
    const cause = new Error("inner");
    const error = new NatterError("NO_SUCH_USER", undefined, { cause });
    assert.equal(error.name, "NatterError");
    assert.equal(error.message, ERRORS.NO_SUCH_USER);
    assert.equal(error.cause, cause);
  });
});
