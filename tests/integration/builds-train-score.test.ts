import { createReadStream } from 'node:fs';
import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { auditEvents, buildSteps, modelVersions, models } from '@/db/schema';
import { schemaNameOf } from '@/server/services/datasets/storage';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { createWorkflowStarter } from '@/workflows/client';
import { createWorker } from '@/workflows/worker';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { creditDataCsv, disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase } from '../helpers/db';
import { check, setNotebookCells, sql, type TestCell } from '../helpers/pipeline';
import { temporalForFile, uniqueTaskQueue } from '../helpers/temporal';

/** credit_data.csv: 4,454 rows, 381 without income. */
const CLEAN_ROWS = 4454 - 381;
const train = (id: string, yaml: string): TestCell => ({ id, kind: 'train', source: yaml });
const score = (id: string, yaml: string): TestCell => ({ id, kind: 'score', source: yaml });

/** credit -> clean (sql) -> train_risk (model risk) -> score_risk (clean -> scored), with a check on scored. */
const pipeline: TestCell[] = [
  sql('clean', 'clean', 'select * from credit where income is not null'),
  train('train_risk', 'model: risk\ndataset: clean\ntarget: status\npositiveClass: bad\nalgorithm: gradient_boosted_trees\nparams:\n  maxIter: 60\n'),
  score('score_risk', 'model: risk\ndataset: clean\noutput: scored\n'),
  check('check_scored', 'dataset: scored\nchecks:\n  - type: null_rate\n    column: probability\n    max: 0\n  - type: row_count\n    min: 1000\n'),
];

const tc = temporalForFile();

async function setUp() {
  const t = await openTestDatabase('postgres');
  const taskQueue = uniqueTaskQueue('builds-train');
  const worker = await createWorker({ db: t.db, address: tc.temporal.address, namespace: tc.temporal.namespace, taskQueue });
  void worker.run();
  const editor = await newUser(t.db, 'editor');
  const workflows = createWorkflowStarter(tc.client, taskQueue);
  const caller = callerFor(t.db, editor, { workflows });
  const team = await caller.teams.create({ name: 'Risk team' });
  const projectId = (await caller.projects.create({ teamId: team.id, name: 'Risk' })).id;
  await uploadDataset({ ctx: { ...ctxFor(t.db, editor), workflows }, input: { projectId, name: 'credit', environment: 'design' }, csv: createReadStream(creditDataCsv) });
  return { t, worker, editor, caller, projectId };
}

describe('train and score cells as build steps on postgres with a real Temporal worker', () => {
  let env: Awaited<ReturnType<typeof setUp>>;

  beforeAll(async () => {
    env = await setUp();
  }, 120_000);

  afterAll(async () => {
    await env?.worker.shutdown();
    await disposeWithProjectRoles(env?.t);
  }, 60_000);

  const newNotebook = async (name: string, cells: TestCell[]) => {
    const nb = await env.caller.notebooks.create({ projectId: env.projectId, name });
    await setNotebookCells(env.t.db, nb.id, cells);
    return nb.id;
  };
  const versionsOf = async (name: string) => {
    const [model] = await env.t.db.select().from(models).where(and(eq(models.projectId, env.projectId), eq(models.name, name)));
    return model ? env.t.db.select().from(modelVersions).where(eq(modelVersions.modelId, model.id)) : [];
  };

  const buildAndWait = async (notebookId: string) => {
    const { runId } = await env.caller.builds.start({ projectId: env.projectId, notebookId, target: { kind: 'all' } });
    await tc.client.workflow.getHandle(`build-${runId}`).result();
    return env.caller.builds.get({ projectId: env.projectId, runId });
  };

  it('builds sql -> train -> score: registers a version with a good AUC, scores every row with it, records progress and results, audits model.train', { timeout: 180_000 }, async () => {
    const notebookId = await newNotebook('Train and score', pipeline);
    const compiled = await env.caller.pipeline.compile({ projectId: env.projectId, notebookId });
    expect(compiled.diagnostics).toEqual([]);
    expect(compiled.graph.steps.map((s) => [s.cellId, s.kind, s.model ?? null, s.after])).toEqual([
      ['clean', 'sql', null, []],
      ['train_risk', 'train', 'risk', ['clean']],
      ['score_risk', 'score', 'risk', ['clean', 'train_risk']],
      ['check_scored', 'check', null, ['score_risk']],
    ]);
    expect(compiled.graph.edges).toEqual(expect.arrayContaining([{ from: 'cell:train_risk', to: 'model:risk' }, { from: 'model:risk', to: 'cell:score_risk' }]));

    const build = await buildAndWait(notebookId);
    expect(build.status, JSON.stringify(build.steps, null, 1)).toBe('succeeded');
    expect(build.steps.map((s) => [s.stepId, s.kind, s.status])).toEqual([
      ['clean', 'sql', 'succeeded'],
      ['train_risk', 'train', 'succeeded'],
      ['score_risk', 'score', 'succeeded'],
    ]);
    const step = (id: string) => build.steps.find((s) => s.stepId === id)!;

    const versions = await versionsOf('risk');
    expect(versions).toHaveLength(1);
    const auc = step('train_risk').result;
    expect(auc).toEqual({ kind: 'train', model: 'risk', version: 1, versionId: versions[0]!.id, metric: 'auc', value: expect.any(Number) });
    expect(auc?.kind === 'train' && auc.value).toBeGreaterThan(0.75);
    expect(versions[0]).toMatchObject({ source: 'trained', algorithm: 'gradient_boosted_trees', createdBy: `workflow:build-${build.runId}`, trainingData: { dataset: 'clean', environment: 'design' } });
    expect(step('train_risk')).toMatchObject({ model: 'risk', dataset: 'clean', rowCount: CLEAN_ROWS, progress: { stage: 'registered', fraction: 1 } });
    expect(step('train_risk').log.join('\n')).toMatch(/train: model "risk" on "clean"[\s\S]*read 4,073 rows[\s\S]*registered "risk" version 1 \(holdout AUC 0\.\d+\)/);

    expect(step('score_risk')).toMatchObject({
      model: 'risk',
      dataset: 'scored',
      rowCount: CLEAN_ROWS,
      result: { kind: 'score', model: 'risk', version: 1, rows: CLEAN_ROWS },
      progress: { stage: 'scored', fraction: 1 },
      checks: [
        { name: 'null_rate(probability)', passed: true },
        { name: 'row_count', passed: true },
      ],
    });
    expect(step('score_risk').log.join('\n')).toContain('version 1 (trained by this build)');
    const schema = `"${schemaNameOf(env.projectId, 'design')}"`;
    const [scored] = await env.t.query(
      `select count(*)::int as n, count(probability)::int as with_p, min(probability)::float8 as lo, max(probability)::float8 as hi, count(distinct model_version)::int as versions, sum(case when prediction in ('good', 'bad') then 1 else 0 end)::int as labelled from ${schema}.scored`,
    );
    expect(scored).toMatchObject({ n: CLEAN_ROWS, with_p: CLEAN_ROWS, versions: 1, labelled: CLEAN_ROWS });
    expect(scored!.lo).toBeGreaterThanOrEqual(0);
    expect(scored!.hi).toBeLessThanOrEqual(1);
    expect(await env.caller.datasets.metrics({ projectId: env.projectId, name: 'scored' })).toMatchObject([{ runId: build.runId, rowCount: CLEAN_ROWS }]);

    const [trained] = await env.t.db.select().from(auditEvents).where(and(eq(auditEvents.action, 'model.train'), eq(auditEvents.projectId, env.projectId)));
    expect(trained).toMatchObject({ actorType: 'workflow', actorId: `build-${build.runId}`, targetId: versions[0]!.id, details: { model: 'risk', version: 1, dataset: { dataset: 'clean' } } });
    const [batch] = await env.t.db.select().from(auditEvents).where(and(eq(auditEvents.action, 'model.batch_score'), eq(auditEvents.projectId, env.projectId)));
    expect(batch).toMatchObject({ actorType: 'workflow', details: { model: 'risk', version: 1, output: { dataset: 'scored', rows: CLEAN_ROWS } } });

    // Built again: a second version, and the score step uses it (not the champion, still version 1).
    const again = await buildAndWait(notebookId);
    expect(again.status).toBe('succeeded');
    expect(again.steps.find((s) => s.stepId === 'score_risk')!.result).toMatchObject({ version: 2 });
    expect(await versionsOf('risk')).toHaveLength(2);
  });

  it('a train cell with a grid and another algorithm: the step result and log carry the leaderboard; the best by AUC is the version, the others candidates', { timeout: 180_000 }, async () => {
    const cell = train('train_board', 'model: board\ndataset: credit\ntarget: status\npositiveClass: bad\nalgorithm: logistic_regression\ngrid:\n  C: [0.0001, 1]\ncandidates:\n  - algorithm: gradient_boosted_trees\n    params: { maxIter: 20 }\n');
    const build = await buildAndWait(await newNotebook('Leaderboard', [cell]));
    expect(build.status, JSON.stringify(build.steps, null, 1)).toBe('succeeded');
    const step = build.steps.find((s) => s.stepId === 'train_board')!;
    const result = step.result?.kind === 'train' ? step.result : null;
    const board = result?.leaderboard;
    expect(board?.metric).toBe('auc');
    expect(board?.rows.map((r) => r.chosen)).toEqual([true, false, false]);
    expect(board!.rows.map((r) => r.auc)).toEqual([...board!.rows.map((r) => r.auc)].sort((a, b) => b - a));
    expect(result?.version).toBe(3);
    expect(result?.value).toBe(board!.rows[0]!.auc);
    expect(step.log.join('\n')).toMatch(/leaderboard \(3 fits on the same split, best by auc\)[\s\S]*<- the version[\s\S]*registered "board" version 3/);
    const versions = await versionsOf('board');
    const winner = versions.find((v) => v.version === 3)!;
    expect(versions.filter((v) => v.candidateOf === winner.id).map((v) => v.version).sort()).toEqual([1, 2]);
  });

  it('fails a train step whose column is missing from the built dataset, naming the cell, without retrying', { timeout: 120_000 }, async () => {
    const notebookId = await newNotebook('Missing column', [
      sql('narrow', 'narrow', 'select status, income from credit'),
      train('train_bad', 'model: narrow-model\ndataset: narrow\ntarget: status\npositiveClass: bad\nalgorithm: logistic_regression\nfeatures: [income, amount]\n'),
    ]);
    const build = await buildAndWait(notebookId);
    expect(build.status).toBe('failed');
    const step = build.steps.find((s) => s.stepId === 'train_bad')!;
    expect(step.status).toBe('failed');
    expect(step.error).toMatch(/^train narrow-model: dataset "narrow" has no column "amount"/);
    const [row] = await env.t.db.select().from(buildSteps).where(and(eq(buildSteps.runId, build.runId), eq(buildSteps.stepId, 'train_bad')));
    expect(row!.attempt).toBe(1);
    expect(await versionsOf('narrow-model')).toEqual([]);
  });

  it('scores with the registered champion when no cell trains the model; an unknown model or a failed check fails the step', { timeout: 120_000 }, async () => {
    const notebookId = await newNotebook('Champion', [
      sql('applications', 'applications', 'select * from credit where income is not null'),
      score('with_champion', 'model: risk\ndataset: applications\noutput: champion_scores\n'),
      check('few_rows', 'dataset: champion_scores\nchecks:\n  - type: row_count\n    max: 10\n'),
      sql('after_scores', 'after_scores', 'select count(*) as n from champion_scores'),
      score('no_model', 'model: nope\ndataset: applications\noutput: nope_scores\n'),
    ]);
    const compiled = await env.caller.pipeline.compile({ projectId: env.projectId, notebookId });
    // Models live in the registry: an unknown one is a warning at compile time, an error when the step runs.
    expect(compiled.diagnostics.map((d) => [d.cellId, d.severity, d.code])).toEqual([['no_model', 'warning', 'unknown-model']]);
    const build = await buildAndWait(notebookId);
    expect(build.status).toBe('failed');
    const step = (id: string) => build.steps.find((s) => s.stepId === id)!;
    // Version 2 is the newest (the first test built twice), but version 1 is still the champion.
    expect(step('with_champion')).toMatchObject({ status: 'failed', result: { kind: 'score', model: 'risk', version: 1, rows: CLEAN_ROWS }, checks: [{ name: 'row_count', passed: false }] });
    expect(step('with_champion').error).toBe(
      `champion_scores: check row_count failed (${CLEAN_ROWS.toLocaleString('en-US')} rows, max 10); "champion_scores" was written before its checks ran: what depends on it is skipped`,
    );
    expect(step('after_scores')).toMatchObject({ status: 'skipped' });
    expect(step('no_model')).toMatchObject({ status: 'failed', error: 'nope_scores: model "nope" was not found' });
  });

  it('refuses to build a notebook whose train cell does not validate, at the cell line', async () => {
    const notebookId = await newNotebook('Bad spec', [train('t', 'model: risk\ndataset: credit\ntarget: statuz\npositiveClass: bad\nalgorithm: logistic_regression\n')]);
    const err = await env.caller.builds.start({ projectId: env.projectId, notebookId, target: { kind: 'all' } }).catch((e: unknown) => e as { code: string; message: string });
    expect(err).toMatchObject({
      code: 'PRECONDITION_FAILED',
      message: 'nothing to build: every cell that builds has errors or reads one that does: "train risk" (line 3: target: "credit" has no column "statuz": did you mean "status"?)',
    });
  });

  it('cancels a build during training: training stops at once, nothing is registered, the run ends cancelled', { timeout: 120_000 }, async () => {
    const notebookId = await newNotebook('Long training', [
      train('long', 'model: long-model\ndataset: credit\ntarget: status\npositiveClass: bad\nalgorithm: gradient_boosted_trees\nparams:\n  maxIter: 3000\n  earlyStopping: false\n'),
      score('after_long', 'model: long-model\ndataset: credit\noutput: long_scored\n'),
    ]);
    const { runId } = await env.caller.builds.start({ projectId: env.projectId, notebookId, target: { kind: 'all' } });
    await vi.waitFor(
      async () => {
        const [row] = await env.t.db.select().from(buildSteps).where(and(eq(buildSteps.runId, runId), eq(buildSteps.stepId, 'long')));
        expect(row?.progress).toMatchObject({ stage: 'training', fraction: expect.any(Number) });
        expect(row!.progress!.fraction!).toBeGreaterThan(0);
      },
      { timeout: 60_000, interval: 100 },
    );
    const asked = Date.now();
    await env.caller.builds.cancel({ projectId: env.projectId, runId });
    await vi.waitFor(async () => expect((await env.caller.builds.get({ projectId: env.projectId, runId })).status).toBe('cancelled'), { timeout: 20_000, interval: 100 });
    expect(Date.now() - asked).toBeLessThan(8_000);
    const build = await env.caller.builds.get({ projectId: env.projectId, runId });
    expect(build.steps.map((s) => [s.stepId, s.status])).toEqual([
      ['long', 'cancelled'],
      ['after_long', 'cancelled'],
    ]);
    expect(build.steps[0]!.log.at(-1)).toMatch(/cancelled: training was stopped and nothing was registered/);
    expect(build.steps[0]!.result).toBeNull();
    expect(await versionsOf('long-model')).toEqual([]);
    const audit = await env.t.db.select().from(auditEvents).where(eq(auditEvents.projectId, env.projectId)).orderBy(asc(auditEvents.seq));
    expect(audit.filter((e) => e.action === 'model.train' && e.details.model === 'long-model')).toEqual([]);
    // A worker still training would keep heartbeating: the step's row stays as it was.
    const [row] = await env.t.db.select().from(buildSteps).where(and(eq(buildSteps.runId, runId), eq(buildSteps.stepId, 'long')));
    await new Promise((r) => setTimeout(r, 1_000));
    const [later] = await env.t.db.select().from(buildSteps).where(and(eq(buildSteps.runId, runId), eq(buildSteps.stepId, 'long')));
    expect(later!.progress).toEqual(row!.progress);
  });
});
