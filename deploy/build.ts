/**
 * Bundles each service's `src/main.ts` into `<out>/services/<name>/dist/main.mjs` and copies
 * its `migrations/` beside it, so `<out>` plus a production `node_modules` is everything the
 * image runs: plain `node`, no TypeScript at run time.
 *
 * The workspace packages (`@natter/*`) export TypeScript sources, so they go into the bundle;
 * every other package stays external and comes from `node_modules` (native addons such as
 * `@node-rs/bcrypt` cannot be bundled, and keeping them external keeps versions exactly as
 * the lockfile says). The services find their migrations at `../migrations` from the module,
 * which the `dist/` layout keeps true.
 *
 *   node --import tsx deploy/build.ts [--out <dir>]     (default: the repository itself)
 */
import { cp, mkdir, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { build, type Metafile, type Plugin } from "esbuild";

export const SERVICES = ["auth", "group", "presence", "edge"] as const;
export type ServiceName = (typeof SERVICES)[number];

const root = resolve(import.meta.dirname, "..");

export interface BuiltService {
  readonly service: ServiceName;
  readonly outfile: string;
  /** Bare package names the bundle imports at run time (from node_modules), sorted. */
  readonly externals: readonly string[];
  /** esbuild's account of every input and import, paths relative to the repository. */
  readonly metafile: Metafile;
}

/** Leaves every bare import except the workspace's own `@natter/*` packages to node_modules. */
const externalPackages: Plugin = {
  name: "natter-external-packages",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith("@natter/")) return undefined;
      return { path: args.path, external: true };
    });
  },
};

export async function buildServices(outDir: string = root, services: readonly ServiceName[] = SERVICES): Promise<BuiltService[]> {
  return Promise.all(services.map((service) => buildService(service, resolve(outDir))));
}

async function buildService(service: ServiceName, outDir: string): Promise<BuiltService> {
  const source = join(root, "services", service);
  const target = join(outDir, "services", service);
  const outfile = join(target, "dist", "main.mjs");
  const result = await build({
    entryPoints: [join(source, "src", "main.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: "linked",
    sourcesContent: false,
    metafile: true,
    logLevel: "warning",
    plugins: [externalPackages],
    absWorkingDir: root,
  });
  if (await exists(join(source, "migrations"))) {
    if (target !== source) {
      await rm(join(target, "migrations"), { recursive: true, force: true });
      await cp(join(source, "migrations"), join(target, "migrations"), { recursive: true });
    }
  }
  return { service, outfile, externals: externalsOf(result.metafile), metafile: result.metafile };
}

function externalsOf(metafile: Metafile): string[] {
  const names = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const imported of output.imports) {
      if (!imported.external || imported.path.startsWith("node:")) continue;
      names.add(packageName(imported.path));
    }
  }
  return [...names].sort();
}

/** `@scope/name` or `name` of a bare import such as `@nats-io/jetstream/internal` or `pg`. */
export function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) {
  const { values } = parseArgs({ options: { out: { type: "string", default: root } } });
  const out = resolve(values.out);
  await mkdir(out, { recursive: true });
  for (const built of await buildServices(out)) {
    console.log(`${built.service}: ${built.outfile} (imports ${built.externals.join(", ")})`);
  }
}
