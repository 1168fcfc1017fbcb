import * as ort from 'onnxruntime-node';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifacts, teamMembers } from '@/db/schema';
import { holdoutSplit } from '@/server/ml/split';
import { MISSING_TARGET, targetVector } from '@/server/ml/table';
import { predict } from '@/server/scoring/session-cache';
import type { Actor } from '@/server/services/context';
import { findDataset } from '@/server/services/datasets/find-dataset';
import type { FeatureSchema } from '@/server/ml/onnx/feature-schema';
import { readDatasetTable } from '@/server/services/models/read-dataset';
import { trainModelVersion } from '@/server/services/models/train-model-version';
import { callerFor, ctxFor, newUser, trpcCode } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { drivers, openTestDatabase, type TestDatabase } from '../helpers/db';
import { rankAuc, uploadCredit } from '../helpers/models';

type User = Extract<Actor, { type: 'user' }>;

// Three algorithms/params of clearly different quality on credit; refit off so every stored file is
// the fit that was evaluated on the holdout (the test scores the holdout with each file).
const spec = {
  algorithm: 'logistic_regression',
  target: 'status',
  positiveClass: 'bad',
  refit: false,
  grid: { C: [0.0001, 1] },
  candidates: [{ algorithm: 'gradient_boosted_trees', params: { maxIter: 40 } }, { algorithm: 'gradient_boosted_trees', params: { maxIter: 3, maxLeafNodes: 2 } }],
  metric: 'auc',
};

describe.each(drivers)('a leaderboard on %s', (driver) => {
  let t: TestDatabase;
  let editor: User;
  let deployer: User;
  let projectId: string;

  beforeAll(async () => {
    t = await openTestDatabase(driver);
    editor = await newUser(t.db, 'editor');
    const team = await callerFor(t.db, editor).teams.create({ name: 'Risk' });
    projectId = (await callerFor(t.db, editor).projects.create({ teamId: team.id, name: 'Credit' })).id;
    deployer = await newUser(t.db, 'deployer');
    await t.db.insert(teamMembers).values({ teamId: team.id, userId: deployer.userId, role: 'deployer' });
    await uploadCredit(t.db, editor, projectId);
  }, 120_000);
  afterAll(async () => {
    await disposeWithProjectRoles(t);
  });

  it('fits every entry on the same split, serves the best by holdout AUC and keeps the others as candidates', { timeout: 240_000 }, async () => {
    const registered = await trainModelVersion({ ctx: ctxFor(t.db, editor), input: { projectId, modelName: 'risk', dataset: 'credit', spec } });
    const board = registered.leaderboard!;
    expect(board.rows).toHaveLength(4);
    expect(board.rows.filter((r) => r.chosen).map((r) => r.version)).toEqual([registered.version.version]);
    // Candidates first, the winner last: the newest version is the one the training chose.
    expect(registered.version.version).toBe(4);

    // Each version's own ONNX file, scored on the holdout rows (the split recomputed from the data).
    const dataset = await findDataset(t.db, { projectId, environment: 'design', name: 'credit' });
    const table = await readDatasetTable(t.db, { projectId, environment: 'design', table: 'credit' }, dataset.columns);
    const { y } = targetVector(table, 'status', 'bad');
    const labelled = Uint32Array.from({ length: y.length }, (_, i) => i).filter((i) => y[i] !== MISSING_TARGET);
    const holdout = holdoutSplit(y, { fraction: 0.2, seed: 42, stratify: true }, labelled).holdout;
    const records = Array.from(holdout, (r) => Object.fromEntries(Object.entries(table.columns).map(([k, v]) => [k, v[r] ?? null])));
    const yHoldout = Array.from(holdout, (r) => y[r]!);
    const versions = await callerFor(t.db, editor).models.versions({ projectId, name: 'risk' });
    const independent = new Map<number, number>();
    for (const v of versions) {
      const [file] = await t.db.select().from(artifacts).where(eq(artifacts.sha256, v.artifactSha256));
      const detail = await callerFor(t.db, editor).models.versionDetail({ projectId, name: 'risk', version: v.version });
      const session = await ort.InferenceSession.create(file!.content);
      const scored = await predict(session, detail.featureSchema as FeatureSchema, records);
      independent.set(v.version, rankAuc(yHoldout, scored.map((s) => s.probabilities.pos)));
      await session.release();
    }
    for (const row of board.rows) expect(Math.abs(row.auc - independent.get(row.version)!)).toBeLessThan(2e-3);
    const best = Math.max(...independent.values());
    expect(independent.get(registered.version.version)).toBeGreaterThan(best - 2e-3);
    const worst = Math.min(...independent.values());
    expect(best - worst).toBeGreaterThan(0.02);

    // Candidates point at the winner and never became champion; the winner did (the first training).
    const byVersion = new Map(versions.map((v) => [v.version, v]));
    expect(byVersion.get(4)).toMatchObject({ champion: true, candidateOf: null });
    for (const n of [1, 2, 3]) expect(byVersion.get(n)).toMatchObject({ champion: false, candidateOf: registered.version.id });
  });

  it('refuses to make a candidate champion or pin it to an endpoint, changing nothing', { timeout: 60_000 }, async () => {
    const caller = callerFor(t.db, deployer);
    const candidate = (await caller.models.versions({ projectId, name: 'risk' })).find((v) => v.candidateOf !== null)!;
    await expect(caller.models.setChampion({ projectId, name: 'risk', version: candidate.version })).rejects.toThrow(/is a leaderboard candidate \(version 4 won that training\): candidates cannot be made champion/);
    expect(await trpcCode(caller.models.setChampion({ projectId, name: 'risk', version: candidate.version }))).toBe('BAD_REQUEST');
    expect((await caller.models.get({ projectId, name: 'risk' })).champion?.version).toBe(4);
    await expect(caller.endpoints.create({ projectId, name: 'risk-pinned', model: 'risk', version: candidate.version })).rejects.toThrow(/cannot be pinned to an endpoint/);
    expect(await trpcCode(caller.endpoints.get({ projectId, name: 'risk-pinned' }))).toBe('NOT_FOUND');
    await caller.endpoints.create({ projectId, name: 'risk-live', model: 'risk' });
    await expect(caller.endpoints.update({ projectId, name: 'risk-live', version: candidate.version })).rejects.toThrow(/cannot be pinned to an endpoint/);
    expect((await caller.endpoints.get({ projectId, name: 'risk-live' })).pinnedVersion).toBeNull();
  });

  it('says which leaderboard entry is wrong before training', async () => {
    const caller = callerFor(t.db, editor);
    await expect(trainModelVersion({ ctx: ctxFor(t.db, editor), input: { projectId, modelName: 'x', dataset: 'credit', spec: { ...spec, candidates: [{ algorithm: 'gradient_boosted_trees', grid: { learningRate: [0.1, 5] } }] } } })).rejects.toThrow(
      /candidates\.0\.grid\.learningRate/,
    );
    await expect(trainModelVersion({ ctx: ctxFor(t.db, editor), input: { projectId, modelName: 'x', dataset: 'credit', spec: { ...spec, grid: { C: Array.from({ length: 21 }, (_, i) => i + 1) } } } })).rejects.toThrow(
      /at most 20/,
    );
    expect(await trpcCode(caller.models.get({ projectId, name: 'x' }))).toBe('NOT_FOUND');
  });
});
