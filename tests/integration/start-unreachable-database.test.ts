/**
 * An unreachable DATABASE_URL stops `stagebook start` (and `migrate`) with one line naming the host,
 * the port and the reason, not with the first failed query's text.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, repoRoot } from '../e2e/server';

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['server/launch.mjs', ...args], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('an unreachable DATABASE_URL', () => {
  const home = mkdtempSync(path.join(tmpdir(), 'sb-unreachable-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it.each([['start'], ['migrate']])('stops `stagebook %s` with one line: host, port and "connection refused"', async (command) => {
    // A port nothing listens on (just released by the OS): the connection is refused.
    const port = await freePort();
    const r = await runCli([command], { DATABASE_URL: `postgres://stagebook@127.0.0.1:${port}/stagebook`, STAGEBOOK_HOME: home, TEMPORAL_ADDRESS: '127.0.0.1:1', PORT: '0' });
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toEqual([`cannot connect to Postgres at 127.0.0.1:${port} (database stagebook): connection refused (ECONNREFUSED)`]);
    expect(r.stderr).not.toMatch(/Failed query|CREATE SCHEMA|at .*\.ts:\d+/);
  }, 60_000);
});
