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

  it('requires a lowercase name after "-- writes:" on sql cells and output on ts cells', async () => {
    expect(await codes([sql('a', '-- writes:\nselect * from loans')])).toEqual(['a:1:missing-writes']);
    expect(await codes([sql('a', '-- a comment first\n-- writes: Clean-Loans\nselect 1')])).toEqual(['a:2:invalid-dataset-name']);
    expect(await codes([{ id: 't', kind: 'ts', source: '// inputs: loans\nexport default 1' }])).toEqual(['t:1:missing-header']);
    expect(await codes([{ id: 't', kind: 'ts', source: '// inputs: loans, Bad Name\n// output: x\n' }])).toEqual(['t:1:invalid-dataset-name']);
    expect(await codes([{ id: 't', kind: 'ts', source: '// inputs: loans, nope\n// output: x\n' }])).toEqual(['t:1:unknown-dataset']);
  });

  it('treats a sql cell without "-- writes:" as a scratch query: it reads, builds nothing, and is no error', async () => {
    const r = await compile([sql('q', 'select grade, count(*) from loans group by 1'), sql('a', '-- writes: x\nselect 1')]);
    expect(r.diagnostics).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.graph.steps.map((st) => st.cellId)).toEqual(['a']);
    expect(r.graph.edges).toContainEqual({ from: 'dataset:loans', to: 'cell:q' });
    // Unknown datasets are still reported (a preview could not run).
    expect(await codes([sql('q', 'select * from loan')])).toEqual(['q:1:unknown-dataset']);
  });

  it('suggests a dataset whose name extends a shortened one ("credit" for "credit_data")', async () => {
    const sources = [{ name: 'credit_data', columns: [] }, { name: 'loans', columns: [] }];
    const r = await compile([sql('q', 'select * from credit')], sources);
    expect(r.diagnostics.map((d) => d.message)).toEqual(['unknown dataset "credit": did you mean "credit_data"?']);
    const typo = await compile([sql('q', 'select * from lonas')], sources);
    expect(typo.diagnostics.map((d) => d.message)).toEqual(['unknown dataset "lonas": did you mean "loans"?']);
    const none = await compile([sql('q', 'select * from weather')], sources);
    expect(none.diagnostics.map((d) => d.message)).toEqual(['unknown dataset "weather" (no source or cell provides it)']);
  });

  it('gives an empty new cell of any kind no diagnostic and no step', async () => {
    const kinds = ['sql', 'ts', 'train', 'score', 'check', 'scenario', 'endpoint', 'markdown'] as const;
    const r = await compile(kinds.map((kind) => ({ id: kind, kind, source: kind === 'sql' ? '  \n' : '' })));
    expect(r.diagnostics).toEqual([]);
    expect(r.graph.steps).toEqual([]);
  });

  it('leaves a broken cell and what depends on it out of the build, and builds everything else', async () => {
    const r = await compile([
      sql('clean', '-- writes: clean\nselect * from loans where'),
      sql('agg', '-- writes: agg\nselect count(*) from clean'),
      sql('agg2', '-- writes: agg2\nselect * from agg'),
      sql('other', '-- writes: other\nselect * from loans'),
      { id: 'half', kind: 'check', source: 'dataset: other\nchecks:\n  - type: row_count\n    min: [' },
      { id: 'note', kind: 'markdown', source: '# notes' },
    ]);
    expect(r.ok).toBe(false);
    expect(r.graph.steps.map((st) => st.cellId)).toEqual(['other']);
    expect(r.skipped.map((k) => [k.cellId, k.name])).toEqual([
      ['clean', 'clean'],
      ['agg', 'agg'],
      ['agg2', 'agg2'],
      ['half', 'checks on other'],
    ]);
    expect(r.skipped[0]!.reason).toMatch(/^line 2: /);
    expect(r.skipped[2]!.reason).toBe('depends on "clean", which has errors');
  });

  it('names cells by their title, else by what they make, else by kind and position', async () => {
    const r = await compile([
      { id: 'a', kind: 'sql', source: '-- writes: clean_loans\nselect * from loans', title: 'Clean the loans' },
      sql('b', '-- writes: by_grade\nselect grade from clean_loans'),
      sql('c', 'select 1'),
      { id: 'd', kind: 'train', source: 'model: risk\n' },
      { id: 'e', kind: 'scenario', source: 'name: nightly\n' },
      { id: 'f', kind: 'markdown', source: 'intro\n## Data prep\n' },
    ]);
    expect(r.cellNames).toEqual({ a: 'Clean the loans', b: 'by_grade', c: 'sql cell 3', d: 'train risk', e: 'nightly', f: 'Data prep' });
    // Names are not part of the graph: renaming a cell leaves the hash alone.
    const renamed = await compile([
      { id: 'a', kind: 'sql', source: '-- writes: clean_loans\nselect * from loans', title: 'Other title' },
      sql('b', '-- writes: by_grade\nselect grade from clean_loans'),
      sql('c', 'select 1'),
      { id: 'd', kind: 'train', source: 'model: risk\n' },
      { id: 'e', kind: 'scenario', source: 'name: nightly\n' },
      { id: 'f', kind: 'markdown', source: 'intro\n## Data prep\n' },
    ]);
    expect(renamed.hash).toBe(r.hash);
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

  describe('train and score cells', () => {
    const credit: SourceDataset = {
      name: 'credit',
      columns: [
        { name: 'status', type: 'text', nullable: false },
        { name: 'income', type: 'integer', nullable: true },
        { name: 'seen_at', type: 'timestamp', nullable: true },
      ],
    };
    const train = (id: string, source: string): NotebookCell => ({ id, kind: 'train', source });
    const score = (id: string, source: string): NotebookCell => ({ id, kind: 'score', source });
    const trainRisk = train('t', 'model: risk\ndataset: clean\ntarget: status\npositiveClass: bad\nalgorithm: gradient_boosted_trees\nparams:\n  maxIter: 50\n');
    const cells = [sql('clean', '-- writes: clean\nselect * from credit where income is not null'), trainRisk, score('s', 'model: risk\ndataset: clean\noutput: scored\n')];

    it('draws dataset -> train -> model -> score -> output, and orders the steps by data and by model', async () => {
      const r = await compile(cells, [credit]);
      expect(r.diagnostics).toEqual([]);
      expect(r.graph.nodes.map((n) => n.id)).toEqual(['cell:clean', 'cell:s', 'cell:t', 'dataset:clean', 'dataset:credit', 'dataset:scored', 'model:risk']);
      expect(r.graph.nodes.find((n) => n.id === 'model:risk')).toEqual({ id: 'model:risk', type: 'model', name: 'risk' });
      expect(r.graph.edges.map((e) => `${e.from} -> ${e.to}`)).toEqual([
        'cell:clean -> dataset:clean',
        'cell:s -> dataset:scored',
        'cell:t -> model:risk',
        'dataset:clean -> cell:s',
        'dataset:clean -> cell:t',
        'dataset:credit -> cell:clean',
        'model:risk -> cell:s',
      ]);
      expect(r.graph.steps).toEqual([
        { cellId: 'clean', kind: 'sql', dataset: 'clean', after: [] },
        { cellId: 't', kind: 'train', dataset: 'clean', model: 'risk', after: ['clean'] },
        { cellId: 's', kind: 'score', dataset: 'scored', model: 'risk', after: ['clean', 't'] },
      ]);
      const node = r.graph.nodes.find((n) => n.id === 'cell:t');
      // The spec travels in the graph with its defaults filled in: the build trains exactly what was compiled.
      expect(node).toMatchObject({ kind: 'train', model: 'risk', dataset: 'clean', spec: { algorithm: 'gradient_boosted_trees', target: 'status', positiveClass: 'bad', params: { maxIter: 50, learningRate: 0.1 }, holdout: { fraction: 0.2 } } });
    });

    it('reports a train cell’s unknown dataset, unknown and timestamp columns of a source, at their YAML line', async () => {
      const r = await compile(
        [
          train('a', 'model: a\ndataset: credt\ntarget: status\npositiveClass: bad\nalgorithm: logistic_regression\n'),
          train('b', 'model: b\ndataset: credit\ntarget: statu\npositiveClass: bad\nalgorithm: logistic_regression\nfeatures:\n  - income\n  - seen_at\n  - incme\n'),
        ],
        [credit],
      );
      expect(r.diagnostics.map((d) => [d.cellId, d.line, d.column, d.code, d.message])).toEqual([
        ['a', 2, 10, 'unknown-dataset', 'unknown dataset "credt": did you mean "credit"?'],
        ['b', 3, 9, 'invalid-train', 'target: "credit" has no column "statu": did you mean "status"?'],
        ['b', 8, 5, 'invalid-train', 'features: "seen_at" is a timestamp; timestamp columns cannot be features'],
        ['b', 9, 5, 'invalid-train', 'features: "credit" has no column "incme": did you mean "income"?'],
      ]);
      expect(r.ok).toBe(false);
    });

    it('reports invalid YAML, missing and unknown fields and bad values of train and score cells at their line', async () => {
      const r = await compile(
        [
          train('yaml', 'model: risk\ndataset: credit\nmodel: risk2\n'),
          train('fields', 'model: m1\ndataset: credit\ntarget: status\npositive_class: bad\nalgorithm: logistic_regression\n'),
          train('algo', 'model: m2\ndataset: credit\ntarget: status\npositiveClass: bad\nalgorithm: svm\n'),
          train('param', 'model: Risk Model\ndataset: credit\ntarget: status\npositiveClass: 1\nalgorithm: logistic_regression\nparams:\n  C: -1\n'),
          score('same', 'model: risk\ndataset: credit\noutput: credit\n'),
          score('ver', 'model: risk\nversion: 0\ndataset: credit\noutput: x\n'),
          score('empty', ''),
        ],
        [credit],
      );
      const got = r.diagnostics.map((d) => [d.cellId, d.line, d.code, d.message]);
      expect(got).toEqual([
        ['yaml', 3, 'invalid-yaml', 'invalid YAML: Map keys must be unique'],
        // A missing field is reported on the mapping that lacks it.
        ['fields', 1, 'invalid-train', expect.stringContaining('positiveClass is required')],
        ['fields', 4, 'invalid-train', 'unknown field "positive_class": did you mean "positiveClass"?'],
        ['algo', 5, 'invalid-train', 'algorithm must be logistic_regression or gradient_boosted_trees'],
        ['param', 1, 'invalid-train', expect.stringMatching(/^model must be a lowercase name/)],
        ['param', 7, 'invalid-train', expect.stringMatching(/^params\.C: /)],
        ['same', 3, 'invalid-score', 'output must differ from dataset: write the scores to a new dataset'],
        ['ver', 2, 'invalid-score', 'version must be at least 1'],
        // 'empty': a new, empty cell is not an error.
      ]);
    });

    it('refuses two train cells of one model, and warns about a scored model that is neither registered nor trained', async () => {
      const twice = await compile([...cells, train('t2', 'model: risk\ndataset: credit\ntarget: status\npositiveClass: bad\nalgorithm: logistic_regression\n')], [credit]);
      expect(twice.diagnostics.map((d) => [d.cellId, d.line, d.code, d.message])).toEqual([
        ['t', 1, 'duplicate-trainer', 'model "risk" is also trained by cell "t2"; a model has one train cell per notebook'],
        ['t2', 1, 'duplicate-trainer', 'model "risk" is also trained by cell "t"; a model has one train cell per notebook'],
      ]);
      const scoreOnly = [score('s', 'model: rsk\ndataset: credit\noutput: scored\n')];
      expect((await compile(scoreOnly, [credit])).diagnostics).toEqual([]);
      const unknown = await compileNotebook({ cells: scoreOnly }, [credit], { models: ['risk', 'churn'] });
      expect(unknown.diagnostics).toEqual([{ cellId: 's', line: 1, column: 8, severity: 'warning', code: 'unknown-model', message: 'unknown model "rsk": did you mean "risk"?' }]);
      expect(unknown.ok).toBe(true);
      // A score of a registered model nobody trains here runs on its own (the champion).
      const registered = await compileNotebook({ cells: [score('s', 'model: risk\ndataset: credit\noutput: scored\n')] }, [credit], { models: ['risk'] });
      expect(registered.diagnostics).toEqual([]);
      expect(registered.graph.steps).toEqual([{ cellId: 's', kind: 'score', dataset: 'scored', model: 'risk', after: [] }]);
    });

    it('treats a score output like any written dataset: duplicate writers, sources and cycles through a model', async () => {
      const r = await compile(
        [
          ...cells,
          sql('other', '-- writes: scored\nselect 1 as x'),
          score('over', 'model: risk\ndataset: clean\noutput: credit\n'),
        ],
        [credit],
      );
      expect(r.diagnostics.map((d) => `${d.cellId}:${d.code}`)).toEqual(['s:duplicate-writer', 'other:duplicate-writer', 'over:writes-source']);
      const loop = await compile(
        [train('t', 'model: m\ndataset: scored\ntarget: status\npositiveClass: bad\nalgorithm: logistic_regression\n'), score('s', 'model: m\ndataset: credit\noutput: scored\n')],
        [credit],
      );
      expect(loop.diagnostics.map((d) => `${d.cellId}:${d.code}`)).toEqual(['t:cycle', 's:cycle']);
      expect(loop.diagnostics[0]!.message).toContain('"t" (trains m)');
    });
  });
});

