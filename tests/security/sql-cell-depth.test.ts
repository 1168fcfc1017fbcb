import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { connectTemporal, createWorkflowStarter } from '@/workflows/client';
import { analyzeSelect, loadSqlParser, MAX_OPERATOR_CHAIN } from '@/server/pipeline/sql';
import { callerFor, newUser } from '../helpers/api';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { setNotebookCells, sql } from '../helpers/pipeline';
import { quietTemporalRuntime, uniqueTaskQueue, useTestTemporal, type TestTemporal } from '../helpers/temporal';

/**
 * `select 1+1+...` with 5,000 terms nests 5,000 deep in Postgres's parse tree and overflowed the
 * parser's stack: pipeline.compile and builds.start answered 500. It is now a diagnostic on the cell.
 */
const chained = (terms: number) => `select ${Array.from({ length: terms }, () => '1').join('+')} as total`;

describe('a SQL cell too deep to parse', () => {
  let t: TestDatabase;
  let caller: ReturnType<typeof callerFor>;
  let projectId: string;
  let temporal: TestTemporal;
  let client: Client;

  beforeAll(async () => {
    await loadSqlParser();
    quietTemporalRuntime();
    temporal = await useTestTemporal();
    client = await connectTemporal(temporal.address, temporal.namespace);
    t = await openTestDatabase('postgres');
    caller = callerFor(t.db, await newUser(t.db, 'editor'), { workflows: createWorkflowStarter(client, uniqueTaskQueue('sql-depth')) });
    const team = await caller.teams.create({ name: 'Deep' });
    projectId = (await caller.projects.create({ teamId: team.id, name: 'Deep' })).id;
  }, 120_000);

  afterAll(async () => {
    await t?.dispose();
    await client?.connection.close();
    await temporal?.stop();
  });

  it('is refused before parsing, whatever the size of the chain, while long flat queries still parse', () => {
    for (const terms of [5_000, 20_000, 100_000]) {
      const a = analyzeSelect(chained(terms));
      expect(a.problems.map((p) => p.code)).toEqual(['sql-too-complex']);
      expect(a.statement).toBeNull();
    }
    expect(analyzeSelect(chained(MAX_OPERATOR_CHAIN)).problems).toEqual([]);
    // Thousands of operators side by side (columns, OR-ed conditions) are not deep: they parse.
    const wide = `select ${Array.from({ length: 3_000 }, (_, i) => `a${i} + b${i} as c${i}`).join(', ')} from t where ${Array.from({ length: 3_000 }, (_, i) => `x = ${i}`).join(' or ')}`;
    expect(analyzeSelect(wide)).toMatchObject({ problems: [], reads: [{ name: 't' }] });
    expect(analyzeSelect(`select ${'('.repeat(600)}1${')'.repeat(600)}`).problems.map((p) => p.code)).toEqual(['sql-too-complex']);
  });

  it('gives pipeline.compile a diagnostic on that cell, and builds.start leaves it out naming why (a 412 when asked for it alone), not a 500', async () => {
    const nb = await caller.notebooks.create({ projectId, name: 'Deep' });
    await setNotebookCells(t.db, nb.id, [sql('deep', 'deep', chained(5_000)), sql('fine', 'fine', 'select 1 as one')]);
    const compiled = await caller.pipeline.compile({ projectId, notebookId: nb.id });
    expect(compiled.ok).toBe(false);
    expect(compiled.diagnostics).toEqual([
      {
        cellId: 'deep',
        line: 2,
        column: expect.any(Number) as number,
        severity: 'error',
        code: 'sql-too-complex',
        message: `more than ${MAX_OPERATOR_CHAIN} operators are chained in one expression here, deeper than the SQL parser can nest: split it (a CTE, or sum() over rows)`,
      },
    ]);
    const { skipped } = await caller.builds.start({ projectId, notebookId: nb.id, target: { kind: 'all' } });
    expect(skipped.map((k) => [k.cellId, k.name])).toEqual([['deep', 'deep']]);
    expect(skipped[0]!.reason).toMatch(/^line 2: more than 1000 operators/);
    const err = await caller.builds.start({ projectId, notebookId: nb.id, target: { kind: 'cell', cellId: 'deep' } }).then(
      () => null,
      (e: { code: string; message: string }) => e,
    );
    expect(err?.code).toBe('PRECONDITION_FAILED');
    expect(err?.message).toMatch(/^cell "deep" cannot be built: line 2: more than 1000 operators/);
  });
});
