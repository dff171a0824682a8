#!/usr/bin/env node
// Runs the bundle in dist/ (made at install: see build.ts) while no source of natter's own
// that it was made from has changed since; otherwise the TypeScript sources through tsx, so
// an edit works at once.
import { readFileSync, statSync } from "node:fs";

function bundleIsFresh() {
  try {
    const { builtAt, inputs } = JSON.parse(readFileSync(new URL("../dist/inputs.json", import.meta.url), "utf8"));
    const root = new URL("../../../", import.meta.url);
    // Packages are not checked: npm ci and npm install build the bundle again (`prepare`).
    const sources = inputs.filter((path) => !path.includes("node_modules/"));
    return sources.length > 0 && sources.every((path) => statSync(new URL(path, root)).mtimeMs <= builtAt);
  } catch {
    return false;
  }
}

if (bundleIsFresh()) {
  await import("../dist/main.mjs");
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/main.ts");
}
