import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '@/server/services/context';
import { scoreDataset, type ScoreProgress } from '@/server/services/models/score-dataset';
import { trainModelVersion } from '@/server/services/models/train-model-version';
import { callerFor, ctxFor, newUser, trpcCode } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { drivers, openTestDatabase, type TestDatabase } from '../helpers/db';
import { uploadCredit } from '../helpers/models';

describe.each(drivers)('batch scoring a dataset into a new dataset on %s', (driver) => {
  let t: TestDatabase;
  let admin: Extract<Actor, { type: 'user' }>;
  let projectId: string;

  beforeAll(async () => {
    t = await openTestDatabase(driver);
    admin = await newUser(t.db, 'admin');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Batch' });
    projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'P' })).id;
    await uploadCredit(t.db, admin, projectId);
    await trainModelVersion({ ctx: ctxFor(t.db, admin), input: { projectId, modelName: 'risk', dataset: 'credit', spec: { algorithm: 'logistic_regression', target: 'status', positiveClass: 'bad' } } });
    await callerFor(t.db, admin).endpoints.create({ projectId, name: `batch-${driver}`, model: 'risk' });
  });
  afterAll(async () => {
    await disposeWithProjectRoles(t);
  });

  it('writes every row with its prediction, probability and model version, equal to real-time scoring, and audits it', async () => {
    const progress: ScoreProgress[] = [];
    const result = await scoreDataset({ ctx: ctxFor(t.db, admin), input: { projectId, model: 'risk', dataset: 'credit', output: 'credit_scored' }, control: { onProgress: (p) => progress.push(p) } });
    expect(result).toMatchObject({ rows: 4454, model: 'risk', version: 1, dataset: { name: 'credit_scored', kind: 'built', rowCount: 4454 } });
    expect(result.dataset.columns.slice(-3)).toEqual([
      { name: 'prediction', type: 'text', nullable: false },
      { name: 'probability', type: 'numeric', nullable: false },
      { name: 'model_version', type: 'integer', nullable: false },
    ]);
    expect(progress.at(-1)).toEqual({ rowsScored: 4454, totalRows: 4454 });

    const preview = await callerFor(t.db, admin).datasets.preview({ projectId, name: 'credit_scored', limit: 20 });
    const names = preview.columns.map((c) => c.name);
    const records = preview.rows.map((r) => Object.fromEntries(names.map((n, j) => [n, r[j]])));
    const live = await callerFor(t.db, admin).scoring.predict({
      endpoint: `batch-${driver}`,
      records: records.map(({ prediction: _p, probability: _q, model_version: _v, status: _s, ...features }) => features),
    });
    records.forEach((r, i) => {
      expect(r.prediction).toBe(live.predictions[i]!.label);
      expect(r.probability as number).toBeCloseTo(live.predictions[i]!.probabilities.bad!, 6);
      expect(r.model_version).toBe(1);
    });
    const [event] = await t.query(`select * from audit_events where action = 'model.batch_score' and project_id = $1`, [projectId]);
    expect(event!.details).toMatchObject({ model: 'risk', version: 1, input: { dataset: 'credit' }, output: { dataset: 'credit_scored', rows: 4454 } });
  });

  it('scores with what an endpoint serves, over tRPC, replacing the previous output atomically', async () => {
    const res = await callerFor(t.db, admin).models.scoreDataset({ projectId, endpoint: `batch-${driver}`, dataset: 'credit', output: 'credit_scored' });
    expect(res).toMatchObject({ rows: 4454, version: 1, dataset: { name: 'credit_scored', rowCount: 4454 } });
    const datasets = await callerFor(t.db, admin).datasets.list({ projectId });
    expect(datasets.map((d) => d.name).sort()).toEqual(['credit', 'credit_scored']);
  });

  it('refuses to overwrite an uploaded dataset, to read a missing one or to write over its input, and leaves no table behind', async () => {
    const caller = callerFor(t.db, admin);
    await expect(caller.models.scoreDataset({ projectId, model: 'risk', dataset: 'credit_scored', output: 'credit' })).rejects.toThrow(/"credit" is an uploaded dataset/);
    await expect(caller.models.scoreDataset({ projectId, model: 'risk', dataset: 'nope', output: 'out' })).rejects.toThrow(/dataset "nope"/);
    await expect(caller.models.scoreDataset({ projectId, model: 'risk', dataset: 'credit', output: 'credit' })).rejects.toThrow(/output/);
    await expect(caller.models.scoreDataset({ projectId, dataset: 'credit', output: 'x' })).rejects.toThrow(/either endpoint or model/);
    expect(await trpcCode(callerFor(t.db, await newUser(t.db, 'stranger')).models.scoreDataset({ projectId, model: 'risk', dataset: 'credit', output: 'x' }))).toBe('FORBIDDEN');
    // Nothing half-written: no staging tables left in the project's schema.
    const tables = await t.query(`select table_name from information_schema.tables where table_schema like 'p\\_%' order by 1`);
    expect(tables.map((r) => r.table_name)).toEqual(['credit', 'credit_scored']);
  });
});
