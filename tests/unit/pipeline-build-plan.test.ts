import { beforeAll, describe, expect, it } from 'vitest';
import { checksOfStep, compileNotebook, loadSqlParser, planBuild, type BuildTarget, type NotebookCell, type SourceDataset } from '@/server/pipeline';

const loans: SourceDataset = { name: 'loans', columns: [{ name: 'income', type: 'integer', nullable: true }] };
const sql = (id: string, writes: string, body: string): NotebookCell => ({ id, kind: 'sql', source: `-- writes: ${writes}\n${body}` });
const checkCell = (id: string, yaml: string): NotebookCell => ({ id, kind: 'check', source: yaml });

/** loans -> a -> (b, c) -> d; e reads loans alone; checks on a (with custom SQL reading c), on loans. */
const cells: NotebookCell[] = [
  sql('d', 'dd', 'select * from bb join cc using (income)'),
  sql('a', 'aa', 'select * from loans'),
  sql('b', 'bb', 'select * from aa'),
  sql('c', 'cc', 'select * from aa'),
  sql('e', 'ee', 'select * from loans'),
  checkCell('chk_b', 'dataset: bb\nchecks:\n  - type: custom_sql\n    sql: select * from bb where income not in (select income from ee)'),
  checkCell('chk_b2', 'dataset: bb\nchecks:\n  - type: row_count\n    min: 1'),
  checkCell('chk_a', 'dataset: aa\nchecks:\n  - type: custom_sql\n    sql: select * from aa where income < (select min(income) from cc)'),
  checkCell('chk_loans', 'dataset: loans\nchecks:\n  - type: row_count\n    min: 1'),
];

async function plan(target: BuildTarget) {
  const compiled = await compileNotebook({ cells }, [loans]);
  expect(compiled.diagnostics).toEqual([]);
  const r = planBuild(compiled.graph, target);
  if (!r.ok) throw new Error(r.message);
  return { steps: r.plan.steps.map((s) => `${s.stepId}<${s.after.join(',')}`), graph: compiled.graph, plan: r.plan };
}

describe('planning a build from a compiled graph', () => {
  beforeAll(() => loadSqlParser());

  it('makes one step per written dataset, folding its check cells in, and a step per check of a source', async () => {
    const { steps } = await plan({ kind: 'all' });
    // chk_b's SQL reads ee, so b waits for e; chk_a's reads cc, which is downstream of a: not a dependency.
    expect(steps).toEqual(['a<', 'chk_loans<', 'e<', 'b<a,e', 'c<a', 'd<b,c']);
  });

  it('gathers every check of a dataset for its build step', async () => {
    const { graph, plan: p } = await plan({ kind: 'all' });
    const b = p.steps.find((s) => s.stepId === 'b')!;
    expect(checksOfStep(graph, b).map((c) => c.cellId)).toEqual(['chk_b', 'chk_b2']);
    expect(checksOfStep(graph, p.steps.find((s) => s.stepId === 'chk_loans')!).map((c) => c.cellId)).toEqual(['chk_loans']);
  });

  it('selects one cell, or a cell and everything downstream, dropping dependencies outside the selection', async () => {
    expect((await plan({ kind: 'cell', cellId: 'b' })).steps).toEqual(['b<']);
    expect((await plan({ kind: 'downstream', cellId: 'a' })).steps).toEqual(['a<', 'b<a', 'c<a', 'd<b,c']);
    expect((await plan({ kind: 'downstream', cellId: 'chk_b2' })).steps).toEqual(['b<', 'd<b']);
  });

  it('refuses a cell that builds nothing', async () => {
    const compiled = await compileNotebook({ cells: [...cells, { id: 'md', kind: 'markdown', source: '# x' }] }, [loans]);
    expect(planBuild(compiled.graph, { kind: 'cell', cellId: 'md' })).toEqual({ ok: false, message: 'cell md builds nothing: only sql, ts, check, train and score cells are built' });
    expect(planBuild(compiled.graph, { kind: 'cell', cellId: 'nope' }).ok).toBe(false);
  });

  describe('with train and score cells', () => {
    const modelCells: NotebookCell[] = [
      ...cells,
      { id: 't', kind: 'train', source: 'model: risk\ndataset: aa\ntarget: income\npositiveClass: "1"\nalgorithm: logistic_regression\n' },
      { id: 's', kind: 'score', source: 'model: risk\ndataset: bb\noutput: scored\n' },
      { id: 's_champion', kind: 'score', source: 'model: registered\ndataset: loans\noutput: scored_champion\n' },
      sql('after_score', 'summary', 'select count(*) as n from scored'),
      checkCell('chk_scored', 'dataset: scored\nchecks:\n  - type: row_count\n    min: 1'),
      checkCell('chk_aa2', 'dataset: aa\nchecks:\n  - type: row_count\n    min: 1'),
    ];
    const planOf = async (target: BuildTarget) => {
      const compiled = await compileNotebook({ cells: modelCells }, [loans]);
      expect(compiled.diagnostics).toEqual([]);
      const r = planBuild(compiled.graph, target);
      if (!r.ok) throw new Error(r.message);
      return { graph: compiled.graph, plan: r.plan, steps: r.plan.steps.map((x) => `${x.stepId}<${x.after.join(',')}`) };
    };

    it('makes a train step wait for its dataset and a score step for its input and the train step of its model', async () => {
      const { steps, plan: p } = await planOf({ kind: 'all' });
      expect(steps).toEqual(['a<', 'chk_loans<', 'e<', 's_champion<', 'b<a,e', 'c<a', 't<a', 'd<b,c', 's<b,t', 'after_score<s']);
      expect(p.steps.find((x) => x.stepId === 't')).toEqual({ stepId: 't', cellId: 't', kind: 'train', dataset: 'aa', model: 'risk', after: ['a'] });
      expect(p.steps.find((x) => x.stepId === 's')).toEqual({ stepId: 's', cellId: 's', kind: 'score', dataset: 'scored', model: 'risk', after: ['b', 't'] });
    });

    it('runs a score output’s checks in its step; a train step runs none, its dataset’s checks stay with its writer', async () => {
      const { graph, plan: p } = await planOf({ kind: 'all' });
      const stepOf = (id: string) => p.steps.find((x) => x.stepId === id)!;
      expect(checksOfStep(graph, stepOf('s')).map((c) => c.cellId)).toEqual(['chk_scored']);
      expect(checksOfStep(graph, stepOf('t'))).toEqual([]);
      expect(checksOfStep(graph, stepOf('a')).map((c) => c.cellId)).toEqual(['chk_a', 'chk_aa2']);
    });

    it('runs a train or score cell alone, or with what is downstream of it (through the model)', async () => {
      expect((await planOf({ kind: 'cell', cellId: 't' })).steps).toEqual(['t<']);
      expect((await planOf({ kind: 'downstream', cellId: 't' })).steps).toEqual(['t<', 's<t', 'after_score<s']);
      expect((await planOf({ kind: 'downstream', cellId: 'chk_scored' })).steps).toEqual(['s<', 'after_score<s']);
      expect((await planOf({ kind: 'downstream', cellId: 'a' })).steps).toEqual(['a<', 'b<a', 'c<a', 't<a', 'd<b,c', 's<b,t', 'after_score<s']);
    });
  });
});

