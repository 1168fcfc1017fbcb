import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '@/server/services/context';
import { exportBundle } from '@/server/services/bundles/export-bundle';
import { trainModelVersion } from '@/server/services/models/train-model-version';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { endpointCell } from '../helpers/bundles';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { uploadCredit } from '../helpers/models';
import { check, setNotebookCells, sql } from '../helpers/pipeline';

/**
 * How long promote, deploy and rollback take for the credit model notebook (credit_data.csv, a
 * logistic regression and gradient-boosted trees), and how big its bundle is. Prints the numbers;
 * asserts only generous bounds.
 */
describe('promote, deploy and rollback timings for the credit model notebook (postgres)', () => {
  let t: TestDatabase;
  let admin: Extract<Actor, { type: 'user' }>;
  let projectId: string;
  let notebookId: string;

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    admin = await newUser(t.db, 'timing');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Timing' });
    projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Credit' })).id;
    await uploadCredit(t.db, admin, projectId);
    const ctx = ctxFor(t.db, admin);
    const spec = { target: 'status', positiveClass: 'bad' };
    await trainModelVersion({ ctx, input: { projectId, modelName: 'credit-lr', dataset: 'credit', environment: 'design', spec: { ...spec, algorithm: 'logistic_regression' } } });
    await trainModelVersion({ ctx, input: { projectId, modelName: 'credit-gbt', dataset: 'credit', environment: 'design', spec: { ...spec, algorithm: 'gradient_boosted_trees', params: { maxIter: 100 } } } });
    notebookId = (await callerFor(t.db, admin).notebooks.create({ projectId, name: 'Credit model' })).id;
    await setNotebookCells(t.db, notebookId, [
      { id: 'intro', kind: 'markdown', source: '# Credit risk\nScores applications with two models.' },
      sql('clean', 'clean_credit', 'select * from credit where amount is not null'),
      check('chk', 'dataset: clean_credit\nchecks:\n  - type: row_count\n    min: 100\n'),
      { id: 'nightly', kind: 'scenario', source: 'name: nightly\ntriggers:\n  - type: schedule\n    cron: "0 2 * * *"\nsteps:\n  - type: build\n' },
      endpointCell('ep1', 'credit-lr', 'credit-lr', 'Logistic regression'),
      endpointCell('ep2', 'credit-gbt', 'credit-gbt', 'Gradient-boosted trees'),
    ]);
  }, 300_000);
  afterAll(async () => {
    await t?.dispose();
  });

  it('measures', async () => {
    const caller = callerFor(t.db, admin);
    const time = async <T>(fn: () => Promise<T>) => {
      const s = performance.now();
      const r = await fn();
      return [r, performance.now() - s] as const;
    };
    const [preview, previewMs] = await time(() => caller.bundles.preview({ projectId, notebookId }));
    expect(preview.promotable).toBe(true);
    const [first, promoteMs] = await time(() => caller.bundles.promote({ projectId, notebookId, releaseNotes: 'v1', confirmFailedBuild: true }));
    const [, repromoteMs] = await time(() => caller.bundles.promote({ projectId, notebookId, releaseNotes: 'v1 again', confirmFailedBuild: true }));
    await setNotebookCells(t.db, notebookId, [{ id: 'more', kind: 'markdown', source: 'v2' }, endpointCell('ep1', 'credit-lr', 'credit-lr', 'Logistic regression')]);
    const [second] = await time(() => caller.bundles.promote({ projectId, notebookId, releaseNotes: 'v2', confirmFailedBuild: true }));
    const [, deployMs] = await time(() => caller.deployments.deploy({ projectId, bundleHash: first.bundle.hash, reason: 'v1' }));
    const [, deploy2Ms] = await time(() => caller.deployments.deploy({ projectId, bundleHash: second.bundle.hash, reason: 'v2' }));
    const [, rollbackMs] = await time(() => caller.deployments.rollback({ projectId, reason: 'back' }));
    const [file, exportMs] = await time(() => exportBundle({ ctx: ctxFor(t.db, admin), input: { projectId, hash: first.bundle.hash } }));
    const manifestBytes = Buffer.byteLength((await t.query('select manifest from bundles where hash = $1', [first.bundle.hash]))[0]!.manifest as string);
    console.log(
      `[bundle timings] preview ${previewMs.toFixed(0)} ms, promote ${promoteMs.toFixed(0)} ms, re-promote (same hash) ${repromoteMs.toFixed(0)} ms, ` +
        `deploy ${deployMs.toFixed(0)} ms (2 endpoints created), deploy ${deploy2Ms.toFixed(0)} ms (1 updated, 1 removed), rollback ${rollbackMs.toFixed(0)} ms, export ${exportMs.toFixed(0)} ms; ` +
        `bundle ${first.bundle.sizeBytes} bytes (manifest ${manifestBytes} bytes), export file ${file.bytes.byteLength} bytes gzipped`,
    );
    expect(promoteMs + deployMs + rollbackMs).toBeLessThan(30_000);
  }, 120_000);
});
