#!/usr/bin/env node
/**
 * `npm start` (and `stagebook`): runs server/cli.ts compiled to JavaScript, so a start does not
 * transpile several hundred TypeScript files with tsx (seconds on a loaded machine).
 *
 * The compiled server lives in node_modules/.cache/stagebook/server-js/<key>/, made by esbuild (a
 * bundle of our own sources with code splitting, so cli.ts's lazy imports stay lazy; every npm
 * package stays an ordinary import). The key is a hash of the content of every source file the
 * bundle was made from (as esbuild read it), this file, tsconfig.json, the checkout's path and the
 * esbuild and Node versions. Each start re-hashes those files (tens of milliseconds) and compiles again (about a
 * second) when any changed or is gone, so a stale bundle never runs: a change that brings a new file
 * into the bundle changes one of the files that imports it.
 *
 * `import.meta.url`/`dirname`/`filename` in our sources are replaced by the source file's own, so
 * code that finds files next to itself (migrations, the lifeline watchdog, Python runners) finds them.
 *
 * `node server/launch.mjs --compile` only compiles (postinstall does, so the first start need not).
 */
import { createHash } from 'node:crypto';
import module from 'node:module';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cacheRoot = path.join(root, 'node_modules', '.cache', 'stagebook', 'server-js');
const entry = path.join(root, 'server', 'cli.ts');
/** Compiled servers not started for this long are removed when a new one is made. */
const KEEP_MS = 7 * 24 * 3600 * 1000;

const sha256 = (data) => createHash('sha256').update(data).digest('hex');

/** One manifest per checkout (worktrees may share node_modules): the key and every input's hash. */
const manifestFile = path.join(cacheRoot, `manifest-${sha256(root).slice(0, 16)}.json`);

function esbuildVersion() {
  return JSON.parse(readFileSync(path.join(root, 'node_modules', 'esbuild', 'package.json'), 'utf8')).version;
}

/** The key of a set of inputs ({ relative path: sha256 of its content }). */
function keyOf(inputs) {
  const hash = createHash('sha256');
  hash.update(`root ${root}\nnode ${process.version}\nesbuild ${esbuildVersion()}\n`);
  // What decides how the inputs compile (path aliases, the options below) besides the inputs themselves.
  for (const file of [fileURLToPath(import.meta.url), path.join(root, 'tsconfig.json')]) hash.update(`${file} ${sha256(readFileSync(file))}\n`);
  for (const file of Object.keys(inputs).sort()) hash.update(`${file} ${inputs[file]}\n`);
  return hash.digest('hex').slice(0, 32);
}

/** The compiled entry when the manifest's inputs are all unchanged, else null. */
function currentBuild() {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  } catch {
    return null;
  }
  for (const [file, hash] of Object.entries(manifest.inputs)) {
    let content;
    try {
      content = readFileSync(path.join(root, file));
    } catch {
      return null;
    }
    if (sha256(content) !== hash) return null;
  }
  const out = path.join(cacheRoot, manifest.key, 'cli.js');
  if (manifest.key !== keyOf(manifest.inputs)) return null;
  try {
    statSync(out);
  } catch {
    return null;
  }
  try {
    // Marks it used, so removeOldBuilds keeps it (it removes builds unused for KEEP_MS).
    const now = new Date();
    utimesSync(path.dirname(out), now, now);
  } catch {
    // read-only cache (a container image): nothing is removed there either
  }
  return out;
}

const LOADERS = { '.ts': 'ts', '.tsx': 'tsx', '.mts': 'ts', '.js': 'js', '.mjs': 'js', '.json': 'json' };

/** Reads our sources for esbuild, recording each one's hash and pinning import.meta to the source file. */
function sourcePlugin(inputs) {
  return {
    name: 'stagebook-sources',
    setup(build) {
      build.onLoad({ filter: /.*/ }, (args) => {
        if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
        const loader = LOADERS[path.extname(args.path)];
        if (!loader) throw new Error(`launch.mjs: no loader for ${args.path}`);
        const content = readFileSync(args.path);
        inputs[path.relative(root, args.path)] = sha256(content);
        const text = content
          .toString('utf8')
          .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href))
          .replaceAll('import.meta.dirname', JSON.stringify(path.dirname(args.path)))
          .replaceAll('import.meta.filename', JSON.stringify(args.path));
        return { contents: text, loader };
      });
    },
  };
}

function removeOldBuilds(keep) {
  for (const name of readdirSync(cacheRoot)) {
    if (name === keep || name.startsWith('manifest-')) continue;
    const dir = path.join(cacheRoot, name);
    try {
      if (Date.now() - statSync(dir).mtimeMs > KEEP_MS) rmSync(dir, { recursive: true, force: true });
    } catch {
      // removed by another process meanwhile
    }
  }
}

/** Compiles the server into the cache (atomically: a concurrent start sees all of it or none). */
async function compile() {
  const esbuild = await import('esbuild');
  mkdirSync(cacheRoot, { recursive: true });
  const tmp = path.join(cacheRoot, `tmp-${process.pid}-${Date.now()}`);
  const inputs = {};
  try {
    await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: `node${process.versions.node.split('.')[0]}`,
      packages: 'external',
      outdir: tmp,
      tsconfig: path.join(root, 'tsconfig.json'),
      sourcemap: 'linked',
      logLevel: 'error',
      plugins: [sourcePlugin(inputs)],
    });
    const key = keyOf(inputs);
    const dir = path.join(cacheRoot, key);
    try {
      renameSync(tmp, dir);
    } catch {
      // Another start made the same build first: use its.
      rmSync(tmp, { recursive: true, force: true });
    }
    const manifestTmp = `${manifestFile}.${process.pid}`;
    writeFileSync(manifestTmp, JSON.stringify({ key, inputs }));
    renameSync(manifestTmp, manifestFile);
    removeOldBuilds(key);
    return path.join(dir, 'cli.js');
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

const compiled = currentBuild() ?? (await compile());
if (process.argv[2] === '--compile') {
  console.log(`compiled the server to ${path.relative(root, path.dirname(compiled))}`);
} else {
  // Stack traces name the TypeScript sources, as under tsx.
  process.setSourceMapsEnabled(true);
  // Node >= 22.1 keeps V8's compiled code of every module it loads (ours and npm's) between starts;
  // a silent optimization (never throws), absent on Node 20, where this does nothing.
  module.enableCompileCache?.(path.join(root, 'node_modules', '.cache', 'stagebook', 'node-compile-cache'));
  await import(pathToFileURL(compiled).href);
}
