import { describe, expect, it } from 'vitest';
import { openTsCell, TsCellError, type TsCellLimits } from '@/server/services/cells/ts-cell-sandbox';

const limits: TsCellLimits = { memoryBytes: 32 * 1024 * 1024, callTimeMs: 300, stackBytes: 512 * 1024 };

async function runCell(source: string, batches: [string, unknown[]][] = [['loans', [{ a: 1 }, { a: 2 }]]]) {
  const cell = await openTsCell('cell-x', `// inputs: loans\n// output: out\n${source}`, limits);
  try {
    const out: unknown[] = [];
    for (const [input, rows] of batches) out.push(...(JSON.parse(cell.transform(input, JSON.stringify(rows))) as unknown[]));
    out.push(...(JSON.parse(cell.finish()) as unknown[]));
    return out;
  } finally {
    cell.dispose();
  }
}

async function failure(source: string, batches?: [string, unknown[]][]): Promise<TsCellError> {
  const err = await runCell(source, batches).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TsCellError);
  return err as TsCellError;
}

describe('ts cells in the QuickJS sandbox', () => {
  it('transforms batches with a default export, TypeScript types and all, and keeps module state for finish', async () => {
    const out = await runCell(
      `type Row = { a: number };
let total = 0;
export default function (rows: Row[], emit: (r: object) => void, { input }: { input: string }) {
  for (const r of rows) { total += r.a; emit({ a2: r.a * 2, input }); }
}
export function finish(emit: (r: object) => void) { emit({ a2: total, input: 'total' }); }`,
      [
        ['loans', [{ a: 1 }, { a: 2 }]],
        ['loans', [{ a: 3 }]],
      ],
    );
    expect(out).toEqual([
      { a2: 2, input: 'loans' },
      { a2: 4, input: 'loans' },
      { a2: 6, input: 'loans' },
      { a2: 6, input: 'total' },
    ]);
  });

  it('accepts a named transform export', async () => {
    expect(await runCell('export function transform(rows, emit) { emit({ n: rows.length }) }')).toEqual([{ n: 2 }]);
  });

  it('refuses require and import, naming the cell', async () => {
    const imp = await failure(`import fs from 'node:fs';\nexport default function (rows, emit) { emit({ x: fs.readFileSync('/etc/passwd', 'utf8') }) }`);
    expect(imp.reason).toBe('import');
    expect(imp.message).toMatch(/^ts cell cell-x: imports are not available/);
    const req = await failure(`export default function (rows, emit) { const fs = require('fs'); emit({ x: fs }) }`);
    expect(req.message).toMatch(/^ts cell cell-x: transform \(input loans\) threw ReferenceError at line 3: .*require/);
    // A dynamic import is a promise the sandbox never settles: no job queue runs between calls.
    expect(await runCell(`export default function (rows, emit) { let got = 'nothing'; import('fs').then(() => { got = 'module' }, (e) => { got = String(e) }); emit({ got }) }`)).toEqual([{ got: 'nothing' }]);
    expect((await failure(`const fs = await import('fs');\nexport default function () {}`)).reason).toBe('syntax');
  });

  it('has no process, fetch, timers, environment or host objects, however it looks for them', async () => {
    const out = await runCell(`export default function (rows, emit) {
  const g = globalThis as any;
  const viaFunction = (0, eval)('this');
  const ctor = (function () {}).constructor('return this')();
  emit({
    process: typeof g.process, fetch: typeof g.fetch, require: typeof g.require, setTimeout: typeof g.setTimeout,
    std: typeof g.std, os: typeof g.os, Deno: typeof g.Deno, Bun: typeof g.Bun, WebAssembly: typeof g.WebAssembly,
    sameGlobal: viaFunction === g && ctor === g,
    keys: Object.getOwnPropertyNames(g).filter((k) => /process|fetch|require|module|env|fs|net|http/i.test(k)).join(','),
  });
}`);
    expect(out).toEqual([
      { process: 'undefined', fetch: 'undefined', require: 'undefined', setTimeout: 'undefined', std: 'undefined', os: 'undefined', Deno: 'undefined', Bun: 'undefined', WebAssembly: 'undefined', sameGlobal: true, keys: '' },
    ]);
    const proc = await failure(`export default function (rows, emit) { emit({ env: process.env.HOME }) }`);
    expect(proc.message).toMatch(/ts cell cell-x: .*ReferenceError.*'process' is not defined/);
  });

  it('stops an endless loop at the time limit', async () => {
    const started = Date.now();
    const err = await failure('export default function () { for (;;) {} }');
    expect(err.reason).toBe('time-limit');
    expect(err.message).toBe('ts cell cell-x: transform (input loans) ran longer than the time limit of 300 ms per call and was stopped');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('stops an endless loop at module top level too', async () => {
    expect((await failure('while (true) {}\nexport default function () {}')).reason).toBe('time-limit');
  });

  it('stops a huge allocation at the memory limit', async () => {
    const err = await failure(`export default function (rows, emit) { const parts = []; for (;;) parts.push(new Float64Array(1 << 20)) }`);
    expect(err.reason).toBe('memory-limit');
    expect(err.message).toMatch(/^ts cell cell-x: .*out of memory \(limit 32 MB\)/);
    const big = await failure(`export default function (rows, emit) { emit({ s: 'x'.repeat(1e9) }) }`);
    expect(big.reason).toBe('memory-limit');
  });

  it('reports syntax errors with the line, and a missing transform or an async one', async () => {
    const syntax = await failure('export default function (rows, emit) {\n  emit({ a: 1 }\n}');
    expect(syntax.reason).toBe('syntax');
    expect(syntax.message).toMatch(/^ts cell cell-x: syntax error at line 5/);
    expect((await failure('export const x = 1;')).message).toContain('export the transform');
    expect((await failure('export default async function (rows, emit) { emit({ a: 1 }) }')).message).toContain('synchronous');
    expect((await failure('export default function (rows, emit) { emit([1]) }')).message).toContain('emit(row) takes one object');
  });

  it('maps a runtime error to the line of the cell', async () => {
    const err = await failure('type T = { a: number };\n\nexport default function (rows: T[]) {\n  const o: any = null;\n  return o.boom;\n}');
    expect(err.message).toMatch(/threw TypeError at line 7:/);
  });
});
