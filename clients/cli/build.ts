/**
 * Bundles the `natter` command (`src/main.ts`, the `@natter/*` workspace packages and the
 * JavaScript packages it imports) into `dist/`, so it starts as a few plain JavaScript files
 * with no TypeScript compiled and no package tree resolved at run time. Every lazily
 * imported command stays its own chunk, loaded only when it runs. Native addons, which
 * cannot be bundled, stay external and come from `node_modules`.
 *
 * `dist/inputs.json` lists the sources the bundle was made from and when: `bin/natter.js`
 * runs the bundle only while none of them is newer, and the sources through tsx otherwise,
 * so an edit works at once and the next build makes it fast again.
 *
 *   node --import tsx clients/cli/build.ts [--if-possible]
 *
 * The root's `npm run build:cli`; `prepare` runs it at install with `--if-possible`, which
 * reports a failed build and lets the install finish: natter then runs from the sources,
 * slower but the same (test/cli/bundle.test.ts builds without it, so CI sees the failure).
 */
import { mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { build } from "esbuild";

const cli = import.meta.dirname;
const root = resolve(cli, "../..");

/**
 * Packages loaded from node_modules at run time: native addons, what loads them by a path
 * of its own, and the full-screen app's terminal UI (ink and react, loaded only when the
 * app opens, with the optional devtools ink imports under DEV=true).
 */
const EXTERNAL = ["better-sqlite3", "@node-rs/argon2", "@peculiar/webcrypto", "ink", "react", "react-devtools-core"];

export interface BuiltCli {
  dir: string;
  /** Source files it was made from, relative to the repository. */
  inputs: string[];
  ms: number;
}

/** Chunks of earlier builds are kept this long for the natter processes still running them. */
const OLD_CHUNKS_KEPT_MS = 7 * 86_400_000;

/**
 * Builds into a folder of its own, then moves each file into `dist/` (a rename each, the
 * entry and `inputs.json` last), so a natter starting meanwhile runs the old bundle or the
 * new one. The chunks' names carry a hash of their content, and those of earlier builds
 * stay a while: a `natter listen` started before still finds the chunks it loads later.
 */
export async function buildCli(): Promise<BuiltCli> {
  const started = performance.now();
  const builtAt = Date.now();
  const dir = join(cli, "dist");
  const next = join(cli, `dist.${process.pid}.tmp`);
  await rm(next, { recursive: true, force: true });
  const result = await build({
    entryPoints: { main: join(cli, "src", "main.ts") },
    outdir: next,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    splitting: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // Less to parse at every start; stack traces map back through the source maps (node --enable-source-maps).
    minify: true,
    sourcemap: "linked",
    sourcesContent: false,
    metafile: true,
    logLevel: "warning",
    external: EXTERNAL,
    // Bundled CommonJS packages still `require` Node's own modules.
    banner: { js: 'import { createRequire as __natterRequire } from "node:module"; const require = __natterRequire(import.meta.url);' },
    absWorkingDir: root,
  });
  const inputs = Object.keys(result.metafile.inputs).sort();
  await writeFile(join(next, "inputs.json"), `${JSON.stringify({ builtAt, inputs })}\n`);
  await mkdir(dir, { recursive: true });
  const made = await readdir(next);
  const last = new Set(["main.mjs", "main.mjs.map", "inputs.json"]);
  for (const name of [...made.filter((n) => !last.has(n)), ...[...last].filter((n) => made.includes(n))]) await rename(join(next, name), join(dir, name));
  await rm(next, { recursive: true, force: true });
  for (const name of await readdir(dir)) {
    if (made.includes(name)) continue;
    const s = await stat(join(dir, name)).catch(() => undefined);
    if (s && Date.now() - s.mtimeMs > OLD_CHUNKS_KEPT_MS) await rm(join(dir, name), { recursive: true, force: true });
  }
  return { dir, inputs, ms: performance.now() - started };
}

if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) {
  try {
    const built = await buildCli();
    console.log(`natter: ${relative(root, built.dir)} from ${built.inputs.length} sources in ${Math.round(built.ms)} ms`);
  } catch (err) {
    if (!process.argv.includes("--if-possible")) throw err;
    console.warn(`natter: the bundle was not built, so natter runs from its sources (slower to start): ${err instanceof Error ? err.message : String(err)}`);
  }
}
