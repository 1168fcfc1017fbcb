/**
 * Starting the Temporal dev server when one of its own internal ports is lost to another process.
 * The dev server picks free ports for its internal services itself; when another process binds one
 * first it panics with "address already in use" and a Go stack of 100+ lines (CI saw this: the
 * reason was above the last 40 lines we kept, so no retry happened and the test run failed).
 * A wrapper CLI fails exactly that way on its first run and runs the real CLI after.
 */
import { chmodSync, readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findTemporalCli, startTemporalDevServer } from '@/workflows/dev-server';

const dir = mkdtempSync(path.join(tmpdir(), 'sb-devserver-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function wrapper(failures: number): string {
  const counter = path.join(dir, `runs-${failures}`);
  const script = path.join(dir, `temporal-${failures}.sh`);
  const stack = Array.from({ length: 120 }, (_, i) => `echo "go.temporal.io/server/temporal.frame${i}(...)" >&2`).join('\n');
  writeFileSync(
    script,
    `#!/bin/sh
n=$(cat ${counter} 2>/dev/null || echo 0)
echo $((n + 1)) > ${counter}
if [ "$n" -lt ${failures} ]; then
  echo "panic: listen tcp 127.0.0.1:40123: bind: address already in use" >&2
  echo "" >&2
  echo "goroutine 1 [running]:" >&2
${stack}
  exit 2
fi
exec ${JSON.stringify(findTemporalCli())} "$@"
`,
  );
  chmodSync(script, 0o755);
  return script;
}

describe('temporal dev server start', () => {
  it('retries on new ports when an internal port is taken, even when the reason is far above the stack', { timeout: 90_000 }, async () => {
    const logs: string[] = [];
    const server = await startTemporalDevServer({ cliPath: wrapper(1), dbFile: path.join(dir, 'a.db'), ui: false, log: (l) => logs.push(l) });
    try {
      expect(logs.some((l) => /port taken, retrying/.test(l))).toBe(true);
      expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
    } finally {
      await server.stop(1_000);
    }
  });

  it('gives up after three tries and its error keeps the panic reason', { timeout: 30_000 }, async () => {
    const err = await startTemporalDevServer({ cliPath: wrapper(5), dbFile: path.join(dir, 'b.db'), ui: false }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/address already in use/);
    expect((err as Error).message).toMatch(/lines left out/);
    expect(readFileSync(path.join(dir, 'runs-5'), 'utf8').trim()).toBe('3');
  });
});
