import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AIMS, aimsTable, numberOption, readAims, recordAims, summarize } from '@/bench/aims';

// The closing table of `npm run bench`: what a developer reads to know whether issue 15's aims are met.
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sb-aims-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const lineOf = (lines: ReturnType<typeof summarize>, id: string) => lines.find((l) => l.row.id === id)!;

describe('bench aims table', () => {
  it('has one row per row of the issue table, in its order', () => {
    expect(AIMS.map((r) => r.measure)).toEqual([
      'REST predict / bare fastify + ONNX',
      'tRPC scoring.predict / bare',
      'REST / Python FastAPI + onnxruntime peer',
      'prediction logging on / off',
      '10-cell SQL build / same SQL through pg',
      'CSV upload / bare COPY (Postgres)',
      'batch scoring / COPY floor',
      'collab, 50 clients, p99 / stock y-websocket',
    ]);
  });

  it('judges throughput ratios as at least the aim and costs as at most the aim, at the boundary too', () => {
    recordAims('scoring', 'rest-bare', { 'LR': 0.9, 'p99 LR': 1.2 }, '50 connections', dir);
    recordAims('scoring', 'rest-bare', { 'trees': 0.96, 'p99 trees': 1.1 }, '50 connections', dir);
    recordAims('scoring', 'logging', { LR: 0.94, trees: 0.99 }, '50 connections', dir);
    recordAims('pipeline', 'build-sql', { 'build': 1.29, 'one step at a time': 1.74 }, '1,000,000 rows', dir);
    recordAims('pipeline', 'build-sql', { 'fixed cost': 41 }, '1,000,000 rows', dir);
    const lines = summarize(readAims(dir), new Map([['scoring', 0], ['pipeline', 0]]));

    expect(lineOf(lines, 'rest-bare')).toMatchObject({ verdict: 'pass', measured: 'LR 0.90x, trees 0.96x, p99 LR 1.20x, p99 trees 1.10x' });
    expect(lineOf(lines, 'logging')).toMatchObject({ verdict: 'miss' });
    expect(lineOf(lines, 'logging').note).toContain('missed: LR');
    expect(lineOf(lines, 'logging').note).not.toContain('trees');
    // 1.29x is within the build aim but 41 ms per step is not: the row misses, on the fixed cost only.
    expect(lineOf(lines, 'build-sql')).toMatchObject({ verdict: 'miss', measured: 'build 1.29x, fixed cost 41 ms, one step at a time 1.74x' });
    expect(lineOf(lines, 'build-sql').note).toBe('missed: fixed cost (1,000,000 rows)');
  });

  it('says why a row is not measured: bench not run, failed, or ran without it', () => {
    recordAims('scoring', 'rest-bare', { 'LR': 0.95, 'p99 LR': 1.0 }, '50 connections', dir);
    const lines = summarize(readAims(dir), new Map<string, number | null>([['scoring', 1], ['collab', 0]]));

    const partial = lineOf(lines, 'rest-bare');
    expect(partial.verdict).toBe('not measured');
    expect(partial.note).toContain('bench scoring failed (exit 1)');
    expect(partial.note).toContain('missing trees, p99 trees');
    expect(lineOf(lines, 'trpc-bare')).toMatchObject({ verdict: 'not measured', measured: '-' });
    expect(lineOf(lines, 'collab-p99').note).toBe('bench collab ran without measuring it');
    expect(lineOf(lines, 'csv-copy').note).toBe('bench datasets was not run (npm run bench datasets)');

    const table = aimsTable(lines);
    expect(table.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| measure') && !l.startsWith('| ---'))).toHaveLength(AIMS.length);
    expect(table).toContain('0 pass, 0 miss, 8 not measured');
  });

  it('refuses values the table has no place for', () => {
    expect(() => recordAims('scoring', 'rest-bare', { lr: 0.9 }, '', dir)).toThrow('row "rest-bare" has no value "lr"');
    expect(() => recordAims('scoring', 'build-sql', { build: 1 }, '', dir)).toThrow('belongs to bench pipeline');
    expect(() => recordAims('scoring', 'no-such-row', {}, '', dir)).toThrow('no row "no-such-row"');
  });

  it('reads a size from --name N or from its position, skipping option values', () => {
    expect(numberOption('rows', 0, 1_000_000, [])).toBe(1_000_000);
    expect(numberOption('rows', 0, 1_000_000, ['20000'])).toBe(20_000);
    expect(numberOption('rows', 0, 1_000_000, ['--rows', '20_000'])).toBe(20_000);
    expect(numberOption('rounds', 2, 2, ['--seconds', '3', '--rounds', '1'])).toBe(1);
    expect(numberOption('connections', 1, 50, ['--seconds', '3'])).toBe(50);
    expect(() => numberOption('rows', 0, 1, ['--rows', 'many'])).toThrow('--rows wants a positive number, got "many"');
  });
});
