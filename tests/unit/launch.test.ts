/**
 * server/launch.mjs (what `npm start` runs) on a checkout of its own: a copy of the launcher with a
 * small server/cli.ts, so each case is one real compile-or-reuse and run of `node server/launch.mjs`.
 * A changed, added or removed source must never run the old compiled code; an unchanged one reuses it.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = path.resolve(import.meta.dirname, '../..');
let root: string;

function write(file: string, text: string) {
  mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  writeFileSync(path.join(root, file), text);
}

function launch(...args: string[]): string {
  const r = spawnSync(process.execPath, ['server/launch.mjs', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.trim();
}

const builds = () => readdirSync(path.join(root, 'node_modules/.cache/stagebook/server-js')).filter((n) => !n.startsWith('manifest-')).sort();

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'sb-launch-'));
  mkdirSync(path.join(root, 'node_modules'), { recursive: true });
  symlinkSync(path.join(repoRoot, 'node_modules/esbuild'), path.join(root, 'node_modules/esbuild'));
  mkdirSync(path.join(root, 'server'));
  copyFileSync(path.join(repoRoot, 'server/launch.mjs'), path.join(root, 'server/launch.mjs'));
  write('tsconfig.json', JSON.stringify({ compilerOptions: { baseUrl: '.', paths: { '@/*': ['./*'] } } }));
  write('lib/where.ts', 'export const here: string = import.meta.dirname;\nexport const url: string = import.meta.url;\n');
  write('lib/value.ts', "export const value: string = 'one';\n");
  write('server/lazy.ts', "export const lazy = (): string => 'lazy';\n");
  write(
    'server/cli.ts',
    [
      "import { value } from '@/lib/value';",
      "import { here, url } from '../lib/where';",
      "const { lazy } = await import('./lazy');",
      'console.log(JSON.stringify({ value, here, url, lazy: lazy(), argv: process.argv.slice(2) }));',
    ].join('\n'),
  );
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('server/launch.mjs', () => {
  it('runs the compiled cli with its arguments, import.meta naming the source file, lazy imports working', () => {
    const out = JSON.parse(launch('start', '--role', 'all')) as Record<string, unknown>;
    expect(out).toEqual({ value: 'one', here: path.join(root, 'lib'), url: `file://${path.join(root, 'lib/where.ts')}`, lazy: 'lazy', argv: ['start', '--role', 'all'] });
    expect(builds()).toHaveLength(1);
  });

  it('reuses the compiled server while no source changed', () => {
    const before = builds();
    expect(JSON.parse(launch()).value).toBe('one');
    expect(builds()).toEqual(before);
  });

  it('recompiles when an imported file changes, and runs the new code', () => {
    const before = builds();
    write('lib/value.ts', "export const value: string = 'two';\n");
    expect(JSON.parse(launch()).value).toBe('two');
    expect(builds()).toHaveLength(before.length + 1);
  });

  it('recompiles when a file is removed and a new one imported instead', () => {
    write('lib/other.ts', "export const value: string = 'three';\n");
    unlinkSync(path.join(root, 'lib/value.ts'));
    write('server/cli.ts', "import { value } from '@/lib/other';\nconsole.log(JSON.stringify({ value }));\n");
    expect(JSON.parse(launch()).value).toBe('three');
  });

  it('recompiles when tsconfig.json changes what an alias means', () => {
    write('alt/lib/other.ts', "export const value: string = 'four';\n");
    write('tsconfig.json', JSON.stringify({ compilerOptions: { baseUrl: '.', paths: { '@/*': ['./alt/*'] } } }));
    expect(JSON.parse(launch()).value).toBe('four');
  });

  it('--compile compiles without running the server', () => {
    write('lib/other.ts', "export const value: string = 'five';\n");
    write('tsconfig.json', JSON.stringify({ compilerOptions: { baseUrl: '.', paths: { '@/*': ['./*'] } } }));
    expect(launch('--compile')).toMatch(/^compiled the server to node_modules\/\.cache\/stagebook\/server-js\/[0-9a-f]{32}$/);
    expect(JSON.parse(launch()).value).toBe('five');
  });

  it('removes compiled servers not started for a week when it compiles a new one, keeping one just started', () => {
    const dir = path.join(root, 'node_modules/.cache/stagebook/server-js');
    const weekAgo = new Date(Date.now() - 8 * 24 * 3600 * 1000);
    for (const b of builds()) utimesSync(path.join(dir, b), weekAgo, weekAgo);
    const olds = builds();
    expect(olds.length).toBeGreaterThan(2);
    expect(JSON.parse(launch()).value).toBe('five'); // reuses (and marks) the current build
    const current = builds().filter((b) => statSync(path.join(dir, b)).mtimeMs > weekAgo.getTime());
    expect(current).toHaveLength(1);
    write('lib/other.ts', "export const value: string = 'seven';\n");
    expect(JSON.parse(launch()).value).toBe('seven');
    const after = builds();
    expect(after).toHaveLength(2);
    expect(after).toContain(current[0]);
  });

  it('stops on a source that does not compile, never running the compiled server it had', () => {
    write('lib/other.ts', "export const value: string = 'six'\nexport const = ;\n");
    const r = spawnSync(process.execPath, ['server/launch.mjs'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('lib/other.ts');
  });
});
