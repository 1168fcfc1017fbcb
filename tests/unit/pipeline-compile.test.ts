import { beforeAll, describe, expect, it } from 'vitest';
import { compileNotebook, loadSqlParser, type NotebookCell, type SourceDataset } from '@/server/pipeline';

const loans: SourceDataset = {
  name: 'loans',
  columns: [
    { name: 'status', type: 'text', nullable: false },
    { name: 'income', type: 'integer', nullable: true },
    { name: 'amount', type: 'integer', nullable: false },
  ],
};
const sql = (id: string, source: string): NotebookCell => ({ id, kind: 'sql', source });
const compile = (cells: NotebookCell[], sources: SourceDataset[] = [loans]) => compileNotebook({ cells }, sources);
const codes = async (cells: NotebookCell[]) => (await compile(cells)).diagnostics.map((d) => `${d.cellId}:${d.line}:${d.code}`);

describe('compiling a notebook into a pipeline graph', () => {
  beforeAll(() => loadSqlParser());

  const pipeline: NotebookCell[] = [
    sql('clean', '-- writes: clean_loans\nselect * from loans where income is not null'),
    sql('feat', '-- writes: features\nwith c as (select * from clean_loans)\nselect status, income / amount as ratio from c'),
    { id: 'ts1', kind: 'ts', source: '// inputs: features, loans\n// output: scored\nexport default function run() {}' },
    { id: 'chk', kind: 'check', source: 'dataset: features\nchecks:\n  - type: row_count\n    min: 1\n' },
    { id: 'md', kind: 'markdown', source: '# Notes' },
  ];

  it('builds nodes, edges and steps in dependency order', async () => {
    const r = await compile(pipeline);
    expect(r.diagnostics).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.graph.steps).toEqual([
      { cellId: 'clean', kind: 'sql', dataset: 'clean_loans', after: [] },
      { cellId: 'chk', kind: 'check', dataset: 'features', after: ['feat'] },
      { cellId: 'feat', kind: 'sql', dataset: 'features', after: ['clean'] },
      { cellId: 'ts1', kind: 'ts', dataset: 'scored', after: ['feat'] },
    ].sort((a, b) => order(a.cellId) - order(b.cellId)));
    expect(r.graph.edges).toContainEqual({ from: 'dataset:loans', to: 'cell:clean' });
    expect(r.graph.edges).toContainEqual({ from: 'cell:clean', to: 'dataset:clean_loans' });
    expect(r.graph.edges).toContainEqual({ from: 'dataset:features', to: 'cell:chk' });
    expect(r.graph.nodes.find((n) => n.id === 'dataset:loans')).toMatchObject({ origin: 'source', columns: loans.columns });
    expect(r.graph.nodes.find((n) => n.id === 'cell:feat')).toMatchObject({ kind: 'sql', reads: ['clean_loans'], writes: 'features' });
    expect(r.graph.nodes.some((n) => n.id === 'cell:md')).toBe(false);
    function order(id: string) {
      return ['clean', 'feat', 'chk', 'ts1'].indexOf(id);
    }
  });

  it('gives the same JSON and hash for the same notebook, whatever the cell order', async () => {
    const a = await compile(pipeline);
    const b = await compile([...pipeline].reverse());
    expect(b.json).toBe(a.json);
    expect(b.hash).toBe(a.hash);
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    const changed = await compile([sql('clean', '-- writes: clean_loans\nselect * from loans where income > 0'), ...pipeline.slice(1)]);
    expect(changed.hash).not.toBe(a.hash);
    const markdownOnly = await compile([...pipeline.slice(0, 4), { id: 'md', kind: 'markdown', source: '# Other notes' }]);
    expect(markdownOnly.hash).toBe(a.hash);
  });

  it('reports an unknown dataset with a suggestion, at its line and column', async () => {
    const r = await compile([sql('a', '-- writes: x\nselect *\nfrom loan')]);
    expect(r.diagnostics).toEqual([{ cellId: 'a', line: 3, column: 6, severity: 'error', code: 'unknown-dataset', message: 'unknown dataset "loan": did you mean "loans"?' }]);
    expect(r.ok).toBe(false);
    const far = await compile([sql('a', '-- writes: x\nselect * from customers')]);
    expect(far.diagnostics[0]?.message).toContain('no source or cell provides it');
  });

  it('reports a cycle on every cell in it, naming the cells', async () => {
    const r = await compile([sql('a', '-- writes: x\nselect * from z'), sql('b', '-- writes: y\nselect * from x'), sql('c', '-- writes: z\nselect * from y'), sql('d', '-- writes: w\nselect * from loans')]);
    const cycles = r.diagnostics.filter((d) => d.code === 'cycle');
    expect(cycles.map((d) => d.cellId)).toEqual(['a', 'b', 'c']);
    expect(cycles[0]?.message).toBe('cycle: cell "a" (writes x) -> "b" (writes y) -> "c" (writes z) -> "a" (writes x) (each reads what the previous one writes)');
    expect(cycles[0]).toMatchObject({ line: 1, column: 12 });
    expect(r.graph.steps.map((s) => s.cellId)).toEqual(['d']);
    const self = await compile([sql('s', '-- writes: x\nselect * from x')]);
    expect(self.diagnostics).toMatchObject([{ cellId: 's', code: 'cycle' }]);
  });

  it('reports two cells writing one dataset, and a cell overwriting a source', async () => {
    expect(await codes([sql('a', '-- writes: x\nselect 1'), sql('b', '-- writes: x\nselect 2')])).toEqual(['a:1:duplicate-writer', 'b:1:duplicate-writer']);
    const r = await compile([sql('a', '-- writes: x\nselect 1'), sql('b', '-- writes: x\nselect 2')]);
    expect(r.diagnostics[0]?.message).toContain('also written by cell "b"');
    expect(await codes([sql('a', '-- writes: loans\nselect 1')])).toEqual(['a:1:writes-source']);
  });

  it('requires "-- writes:" with a lowercase name on sql cells and output on ts cells', async () => {
    expect(await codes([sql('a', 'select * from loans')])).toEqual(['a:1:missing-writes']);
    expect(await codes([sql('a', '-- a comment first\n-- writes: Clean-Loans\nselect 1')])).toEqual(['a:2:invalid-dataset-name']);
    expect(await codes([{ id: 't', kind: 'ts', source: '// inputs: loans\nexport default 1' }])).toEqual(['t:1:missing-header']);
    expect(await codes([{ id: 't', kind: 'ts', source: '// inputs: loans, Bad Name\n// output: x\n' }])).toEqual(['t:1:invalid-dataset-name']);
    expect(await codes([{ id: 't', kind: 'ts', source: '// inputs: loans, nope\n// output: x\n' }])).toEqual(['t:1:unknown-dataset']);
  });

  it('refuses DDL, DML and several statements in a sql cell, at the right line', async () => {
    expect(await codes([sql('a', '-- writes: x\n\ndelete from loans')])).toEqual(['a:3:not-a-select']);
    expect(await codes([sql('a', '-- writes: x\ncreate table x as select 1')])).toEqual(['a:2:not-a-select']);
    expect(await codes([sql('a', '-- writes: x\nselect 1;\nselect 2')])).toEqual(['a:3:multiple-statements']);
    expect(await codes([sql('a', '-- writes: x\n')])).toEqual(['a:1:empty-cell']);
    expect(await codes([sql('a', "-- writes: x\nselect set_config('role', 'postgres', true)")])).toEqual(['a:2:forbidden-function']);
  });

  it('reports a SQL syntax error at its line and column within the cell', async () => {
    const r = await compile([sql('a', '-- writes: x\nselect income,\n  amount\nfrom loans\nwher income > 0')]);
    // "wher" parses as an alias of loans; the parser stops at the next word.
    expect(r.diagnostics).toEqual([{ cellId: 'a', line: 5, column: 6, severity: 'error', code: 'sql-syntax', message: 'syntax error at or near "income"' }]);
  });

  it('compiles check cells and reports invalid YAML and schema errors at the YAML line', async () => {
    const check = (source: string) => compile([{ id: 'k', kind: 'check', source }]);
    const bad = await check('dataset: loans\nchecks:\n  - type: row_count\n   min: 1\n');
    expect(bad.diagnostics[0]).toMatchObject({ code: 'invalid-yaml', line: 4 });
    const schema = await check('dataset: loans\nchecks:\n  - type: null_rate\n    column: income\n    max: 2\n  - type: unique\n');
    expect(schema.diagnostics.map((d) => [d.line, d.code, d.message])).toEqual([
      [5, 'invalid-check', 'checks.0.max: max is a rate between 0 and 1'],
      [6, 'invalid-check', expect.stringContaining('checks.1.columns')],
    ]);
    const unknownType = await check('dataset: loans\nchecks:\n  - type: row_cnt\n');
    expect(unknownType.diagnostics[0]).toMatchObject({ line: 3, code: 'invalid-check', message: expect.stringContaining('type must be one of') });
    const missing = await check('checks:\n  - type: row_count\n    min: 1\n');
    expect(missing.diagnostics[0]).toMatchObject({ line: 1, message: expect.stringContaining('dataset is required') });
    const column = await check('dataset: loans\nchecks:\n  - type: null_rate\n    column: incme\n    max: 0.1\n');
    expect(column.diagnostics[0]).toMatchObject({ line: 4, code: 'invalid-check', message: '"loans" has no column "incme": did you mean "income"?' });
    const unknownDataset = await check('dataset: laons\nchecks:\n  - type: row_count\n    min: 1\n');
    expect(unknownDataset.diagnostics[0]).toMatchObject({ line: 1, code: 'unknown-dataset', message: expect.stringContaining('did you mean "loans"') });
  });

  it('parses every check type with severity, and points custom SQL errors at their YAML line', async () => {
    const ok = await compile([
      {
        id: 'k',
        kind: 'check',
        source: [
          'dataset: loans',
          'checks:',
          '  - type: row_count',
          '    min: 100',
          '    max: 100000',
          '  - type: null_rate',
          '    column: income',
          '    max: 0.05',
          '    severity: warning',
          '  - type: value_range',
          '    column: amount',
          '    min: 0',
          '  - type: unique',
          '    columns: [status, amount]',
          '  - type: accepted_values',
          '    column: status',
          '    values: [good, bad]',
          '  - type: custom_sql',
          '    name: no_negative',
          '    sql: select * from loans where amount < 0',
        ].join('\n'),
      },
    ]);
    expect(ok.diagnostics).toEqual([]);
    const node = ok.graph.nodes.find((n) => n.id === 'cell:k');
    expect(node).toMatchObject({ kind: 'check', dataset: 'loans' });
    expect(node && 'checks' in node ? node.checks.map((c) => `${c.type}:${c.severity}`) : []).toEqual([
      'row_count:error',
      'null_rate:warning',
      'value_range:error',
      'unique:error',
      'accepted_values:error',
      'custom_sql:error',
    ]);
    const bad = await compile([{ id: 'k', kind: 'check', source: 'dataset: loans\nchecks:\n  - type: custom_sql\n    sql: |\n      select *\n      from loans\n      wher amount < 0\n' }]);
    expect(bad.diagnostics[0]).toMatchObject({ code: 'sql-syntax', line: 7, column: 12, message: 'check custom_sql_1: syntax error at or near "amount"' });
    const unknown = await compile([{ id: 'k', kind: 'check', source: 'dataset: loans\nchecks:\n  - type: custom_sql\n    sql: select * from loanz\n' }]);
    expect(unknown.diagnostics[0]).toMatchObject({ code: 'unknown-dataset', line: 4, column: 24 });
  });
});
