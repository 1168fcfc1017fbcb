import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Client } from '@temporalio/client';
import { connectTemporal, createWorkflowStarter } from '@/workflows/client';
import { createWorker } from '@/workflows/worker';
import type { WorkflowStarter } from '@/server/services/workflow-starter';
import { teamMembers } from '@/db/schema';
import type { Actor } from '@/server/services/context';
import { trainModelVersion, type TrainModelProgress } from '@/server/services/models/train-model-version';
import { callerFor, ctxFor, newUser, trpcCode } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { drivers, openTestDatabase, type TestDatabase } from '../helpers/db';
import { uploadCredit } from '../helpers/models';
import { quietTemporalRuntime, uniqueTaskQueue, useTestTemporal } from '../helpers/temporal';

type User = Extract<Actor, { type: 'user' }>;

describe.each(drivers)('the model registry on %s', (driver) => {
  let t: TestDatabase;
  let editor: User;
  let deployer: User;
  let viewer: User;
  let projectId: string;
  // The train form's trainings run on a Temporal worker (trainWorkflow), as in production.
  let client: Client;
  let worker: Awaited<ReturnType<typeof createWorker>>;
  let workflows: WorkflowStarter;

  beforeAll(async () => {
    t = await openTestDatabase(driver);
    quietTemporalRuntime();
    const temporal = await useTestTemporal();
    client = await connectTemporal(temporal.address, temporal.namespace);
    const taskQueue = uniqueTaskQueue('models-registry');
    worker = await createWorker({ db: t.db, address: temporal.address, namespace: temporal.namespace, taskQueue });
    void worker.run();
    workflows = createWorkflowStarter(client, taskQueue);
    editor = await newUser(t.db, 'editor');
    const team = await callerFor(t.db, editor).teams.create({ name: 'Risk' });
    projectId = (await callerFor(t.db, editor).projects.create({ teamId: team.id, name: 'Credit' })).id;
    deployer = await newUser(t.db, 'deployer');
    viewer = await newUser(t.db, 'viewer');
    await t.db.insert(teamMembers).values([
      { teamId: team.id, userId: deployer.userId, role: 'deployer' },
      { teamId: team.id, userId: viewer.userId, role: 'viewer' },
    ]);
    // The team's creator is its admin; make the editor a plain editor to test the gates honestly.
    await t.query(`update team_members set role = 'editor' where user_id = $1`, [editor.userId]);
    await t.db.insert(teamMembers).values({ teamId: team.id, userId: (await newUser(t.db, 'admin')).userId, role: 'admin' });
    await uploadCredit(t.db, editor, projectId);
  }, 120_000);
  afterAll(async () => {
    await worker?.shutdown();
    await client?.connection.close();
    await disposeWithProjectRoles(t);
  });

  const audit = (action: string) => t.query(`select * from audit_events where action = $1 and project_id = $2 order by seq`, [action, projectId]);

  it('trains logistic regression on the credit data from the design schema, registers version 1 as champion and audits it', async () => {
    const progress: TrainModelProgress[] = [];
    const registered = await trainModelVersion({
      ctx: ctxFor(t.db, editor),
      input: { projectId, modelName: 'credit-risk', dataset: 'credit', spec: { algorithm: 'logistic_regression', target: 'status', positiveClass: 'bad' } },
      control: { onProgress: (p) => progress.push(p) },
    });
    expect(registered).toMatchObject({ modelName: 'credit-risk', becameChampion: true, version: { version: 1, source: 'trained', algorithm: 'logistic_regression', champion: true } });
    expect(registered.version.auc!.auc).toBeGreaterThan(0.8);
    expect(registered.version.auc!.lower).toBeLessThan(registered.version.auc!.auc);
    expect(new Set(progress.map((p) => p.stage))).toEqual(new Set(['reading', 'training', 'exporting', 'registering']));
    expect(progress.find((p) => p.stage === 'training')?.rowsRead).toBe(4454);
    const [event] = await audit('model.train');
    expect(event).toMatchObject({ actor_label: editor.email, target_type: 'modelVersion', target_id: registered.version.id });
    expect(event!.details).toMatchObject({ model: 'credit-risk', version: 1, becameChampion: true, dataset: { dataset: 'credit', rows: 4454 } });
  });

  it('trains gradient-boosted trees as version 2, which waits for a deployer to make it champion', async () => {
    const caller = callerFor(t.db, editor, { workflows });
    const { id } = await caller.models.train({ projectId, modelName: 'credit-risk', dataset: 'credit', spec: { algorithm: 'gradient_boosted_trees', target: 'status', positiveClass: 'bad', params: { maxIter: 30 } } });
    let training = await caller.models.training({ projectId, trainingId: id });
    for (let i = 0; i < 600 && training.state === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      training = await caller.models.training({ projectId, trainingId: id });
    }
    expect(training.state, JSON.stringify(training.error)).toBe('succeeded');
    expect(training.result).toMatchObject({ becameChampion: false, version: { version: 2, champion: false, algorithm: 'gradient_boosted_trees' } });

    const versions = await callerFor(t.db, viewer).models.versions({ projectId, name: 'credit-risk' });
    expect(versions.map((v) => [v.version, v.champion])).toEqual([
      [2, false],
      [1, true],
    ]);
    expect(await trpcCode(callerFor(t.db, editor).models.setChampion({ projectId, name: 'credit-risk', version: 2 }))).toBe('FORBIDDEN');
    const changed = await callerFor(t.db, deployer).models.setChampion({ projectId, name: 'credit-risk', version: 2 });
    expect(changed).toMatchObject({ changed: true, champion: { version: 2, champion: true } });
    const [event] = await audit('model.champion_change');
    expect(event).toMatchObject({ actor_label: deployer.email, target_type: 'model' });
    expect(event!.details).toMatchObject({ model: 'credit-risk', before: { version: 1 }, after: { version: 2 } });
    expect((await callerFor(t.db, deployer).models.setChampion({ projectId, name: 'credit-risk', version: 2 })).changed).toBe(false);
    expect(await audit('model.champion_change')).toHaveLength(1);
  });

  it('shows a version with its full evaluation: ROC, calibration, importance, AUC interval', async () => {
    const detail = await callerFor(t.db, viewer).models.versionDetail({ projectId, name: 'credit-risk', version: 1 });
    const e = detail.metrics!.evaluation;
    expect(e.roc.length).toBeGreaterThan(10);
    expect(e.calibration).toHaveLength(10);
    expect(e.featureImportance.map((f) => f.feature)).toContain('income');
    expect(e.auc.upper).toBeGreaterThan(e.auc.auc);
    expect(detail.featureSchema.inputs.map((i) => i.name)).toContain('job');
    expect(detail.trainingData).toMatchObject({ dataset: 'credit', environment: 'design', rows: 4454 });
    const [list] = await callerFor(t.db, viewer).models.list({ projectId });
    expect(list).toMatchObject({ name: 'credit-risk', versionCount: 2, champion: { version: 2 } });
  });

  it('stores identical artifacts once: retraining the same spec on the same data adds a version, not bytes', async () => {
    const before = Number((await t.query('select count(*) as n from artifacts'))[0]!.n);
    const again = await trainModelVersion({
      ctx: ctxFor(t.db, editor),
      input: { projectId, modelName: 'credit-risk', dataset: 'credit', spec: { algorithm: 'logistic_regression', target: 'status', positiveClass: 'bad' } },
    });
    const v1 = await callerFor(t.db, viewer).models.versionDetail({ projectId, name: 'credit-risk', version: 1 });
    expect(again.version.version).toBe(3);
    expect(again.version.artifactSha256).toBe(v1.artifactSha256);
    expect(Number((await t.query('select count(*) as n from artifacts'))[0]!.n)).toBe(before);
  });

  it('refuses a bad train request at once, naming the field', { timeout: 90_000 }, async () => {
    const caller = callerFor(t.db, editor, { workflows });
    const spec = { algorithm: 'logistic_regression', target: 'status', positiveClass: 'bad' };
    await expect(caller.models.train({ projectId, modelName: 'm', dataset: 'nope', spec })).rejects.toThrow(/dataset "nope"/);
    await expect(caller.models.train({ projectId, modelName: 'm', dataset: 'credit', spec: { ...spec, target: 'colour' } })).rejects.toThrow(/no column "colour"/);
    await expect(caller.models.train({ projectId, modelName: 'm', dataset: 'credit', spec: { ...spec, algorithm: 'svm' } })).rejects.toThrow(/spec\.algorithm/);
    await expect(caller.models.train({ projectId, modelName: 'Bad Name', dataset: 'credit', spec })).rejects.toThrow(/name must be/);
    const { id } = await caller.models.train({ projectId, modelName: 'm', dataset: 'credit', spec: { ...spec, positiveClass: 'ugly' } });
    // Polled until it leaves `running`, with room for a busy machine (the state change is the event).
    const training = await vi.waitFor(
      async () => {
        const now = await caller.models.training({ projectId, trainingId: id });
        expect(now.state).not.toBe('running');
        return now;
      },
      { timeout: 60_000, interval: 50 },
    );
    expect(training).toMatchObject({ state: 'failed', error: { message: expect.stringMatching(/never has the positive class "ugly"/) } });
    expect(await trpcCode(callerFor(t.db, viewer, { workflows }).models.train({ projectId, modelName: 'm', dataset: 'credit', spec }))).toBe('FORBIDDEN');
  });

  it('cancels a running training: nothing is registered', { timeout: 90_000 }, async () => {
    const caller = callerFor(t.db, editor, { workflows });
    const { id } = await caller.models.train({ projectId, modelName: 'cancelled', dataset: 'credit', spec: { algorithm: 'gradient_boosted_trees', target: 'status', positiveClass: 'bad', params: { maxIter: 2000, earlyStopping: false } } });
    await caller.models.cancelTraining({ projectId, trainingId: id });
    // Polled until it leaves `running`, with room for a busy machine (the state change is the event).
    const training = await vi.waitFor(
      async () => {
        const now = await caller.models.training({ projectId, trainingId: id });
        expect(now.state).not.toBe('running');
        return now;
      },
      { timeout: 60_000, interval: 50 },
    );
    expect(training.state).toBe('cancelled');
    expect(await trpcCode(caller.models.get({ projectId, name: 'cancelled' }))).toBe('NOT_FOUND');
  });
});
