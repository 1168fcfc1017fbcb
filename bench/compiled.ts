/**
 * Benchmarks of the server's hot paths run compiled the way production runs the server, not through
 * tsx. `npm start` runs the esbuild bundle server/launch.mjs makes; tsx transpiles each file with
 * esbuild's `keepNames` (every function it names gets a `__name(fn, "...")` call, closures made per
 * request included) and source maps, which production does not pay. So `bench/run.ts` bundles these
 * benchmarks with launch.mjs's options (our sources bundled, every npm package an ordinary import,
 * ESM, this Node's target, no keepNames, `import.meta` pinned to each source file) and runs the
 * bundle with plain `node`. Run directly (`npx tsx bench/scoring.ts`) they still work, under tsx.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');

/** Benchmarks run compiled by bench/run.ts. */
export const COMPILED_BENCHES: ReadonlySet<string> = new Set(['scoring', 'scoring-layers', 'scoring-log']);

/** Set in the compiled run's environment, so a benchmark can say how it ran. */
export const COMPILED_ENV = 'STAGEBOOK_BENCH_COMPILED';

const LOADERS: Record<string, 'ts' | 'tsx' | 'js' | 'json'> = { '.ts': 'ts', '.tsx': 'tsx', '.mts': 'ts', '.js': 'js', '.mjs': 'js', '.json': 'json' };

/** As launch.mjs's sourcePlugin: code that finds files next to itself (migrations, Python runners) still finds them. */
const sources: Plugin = {
  name: 'stagebook-bench-sources',
  setup(b) {
    b.onLoad({ filter: /.*/ }, (args) => {
      if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      const loader = LOADERS[path.extname(args.path)];
      if (!loader) throw new Error(`bench/compiled.ts: no loader for ${args.path}`);
      const contents = readFileSync(args.path, 'utf8')
        .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href))
        .replaceAll('import.meta.dirname', JSON.stringify(path.dirname(args.path)))
        .replaceAll('import.meta.filename', JSON.stringify(args.path));
      return { contents, loader };
    });
  },
};

/** Bundles `file` (a benchmark) into bench/.out/compiled/<name>/ and returns the entry to run with node. */
export async function compileBench(file: string): Promise<string> {
  const name = path.basename(file, path.extname(file));
  const outdir = path.join(root, 'bench', '.out', 'compiled', name);
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: [file],
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    packages: 'external',
    outdir,
    tsconfig: path.join(root, 'tsconfig.json'),
    sourcemap: 'linked',
    logLevel: 'error',
    plugins: [sources],
  });
  return path.join(outdir, `${name}.js`);
}

/** How this benchmark process runs, for its report. */
export function howRun(): string {
  return process.env[COMPILED_ENV] === '1' ? 'compiled as production runs the server' : 'through tsx (keepNames): npm run bench runs it compiled';
}
