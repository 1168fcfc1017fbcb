import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { childProcessEnv } from './env';

export const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** True when there is no production build, or app/ changed after it was made. */
export function nextBuildIsStale(root = repoRoot): boolean {
  const buildId = path.join(root, '.next', 'BUILD_ID');
  if (!existsSync(buildId)) return true;
  const built = statSync(buildId).mtimeMs;
  return ['app', 'public'].some((d) => existsSync(path.join(root, d)) && newestMtime(path.join(root, d)) > built);
}

export function runNextBuild(root = repoRoot): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'node_modules/next/dist/bin/next'), 'build'], {
      cwd: root,
      env: childProcessEnv(),
      stdio: 'inherit',
    });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`next build failed with exit code ${code}`))));
  });
}

export async function createNextHandler(opts: { hostname: string; port: number; root?: string }) {
  const root = opts.root ?? repoRoot;
  const { default: next } = await import('next');
  const app = next({ dev: false, dir: root, hostname: opts.hostname, port: opts.port });
  await app.prepare();
  const handle = app.getRequestHandler();
  return {
    handler: (req: IncomingMessage, res: ServerResponse) => handle(req, res),
    close: () => app.close(),
  };
}
