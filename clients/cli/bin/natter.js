#!/usr/bin/env node
// Runs the TypeScript sources through tsx, so `npx natter` works straight after `npm ci`.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
