import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { auditEvents, endpoints, models, modelVersions } from '@/db/schema';
import { holdoutSplit } from '@/server/ml/split';
import type { Actor } from '@/server/services/context';
import { appendRows } from '@/server/services/datasets/append-rows';
import { schemaNameOf } from '@/server/services/datasets/storage';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { trainModelVersion } from '@/server/services/models/train-model-version';
import { ctxFor } from '../helpers/api';
import { creditDataCsv } from '../helpers/datasets';
import type { TestDatabase } from '../helpers/db';
import { runFinished, scenarioHarness, type ScenarioHarness, type ScenarioRunView } from '../helpers/scenarios';

/**
 * The retrain gate on production data that still holds the champion's training rows, and a
 * challenger that shadow-scores live traffic before the swap. The credit data gets an `id` column
 * (the labels' key). Production starts with the first 3,000 applications; the champion v1 (age
 * only) learns from them; then the other 1,454 are appended, as new labelled applications would be.
 */
type Row = Record<string, unknown>;
const FIRST = 3_000;
const raw = parse(readFileSync(creditDataCsv, 'utf8'), { columns: (h: string[]) => h.map((c) => c.toLowerCase()) }) as Record<string, string>[];
// Applications with a missing value first: the first upload then has them, so its columns accept
// missing values the appended rows have (a column without any is created NOT NULL).
const hasMissing = (r: Record<string, string>) => Object.values(r).some((v) => v === 'NA' || v === '');
const allRows: Row[] = [...raw.filter(hasMissing), ...raw.filter((r) => !hasMissing(r))].map((r, i) => ({
  id: i + 1,
  ...Object.fromEntries(
    Object.entries(r).map(([k, v]) => {
      if (v === 'NA' || v === '') return [k, null];
      if (k === 'records') return [k, v === 'yes'];
      return [k, Number.isNaN(Number(v)) ? v : Number(v)];
    }),
  ),
}));
const csvOf = (rows: Row[], columns = Object.keys(allRows[0]!)) =>
  [columns.join(','), ...rows.map((r) => columns.map((c) => (r[c] === null ? '' : r[c] === true ? 'yes' : r[c] === false ? 'no' : String(r[c]))).join(','))].join('\n') + '\n';
const features = ['seniority', 'home', 'time', 'age', 'marital', 'records', 'job', 'expenses', 'income', 'assets', 'debt', 'amount', 'price'];

const trainCell = `model: credit-risk
dataset: credit
target: status
positiveClass: bad
algorithm: logistic_regression
features: [${features.join(', ')}]
`;
const scenario = (name: string, shadow: string) => ({
  id: `s_${name.replaceAll('-', '_')}`,
  kind: 'scenario' as const,
  source: `name: ${name}
triggers:
  - type: manual
steps:
  - type: retrain
    model: credit-risk
    gate:
      metric: auc
    shadow:
${shadow}
`,
});

let h: ScenarioHarness;
let t: TestDatabase;
let projectId: string;
const caller = (actor?: Actor) => h.caller(actor);
const shadowingNow = (run: ScenarioRunView) => (run.steps[0]?.output as { decision?: string } | null)?.decision === 'shadowing';
const endpoint = async () => (await t.db.select().from(endpoints).where(eq(endpoints.name, 'risk-live')))[0]!;
const versionNumber = async (id: string | null) => (id ? (await t.db.select().from(modelVersions).where(eq(modelVersions.id, id)))[0]!.version : null);
const champion = async () => versionNumber((await t.db.select().from(models).where(eq(models.projectId, projectId)))[0]!.championVersionId);
const predict = (records: Row[]) => caller().scoring.predict({ endpoint: 'risk-live', records: records.map(({ status: _s, ...r }) => r) });

beforeAll(async () => {
  h = await scenarioHarness('retrain-shadow');
  ({ t, projectId } = h);
  const ctx = ctxFor(t.db, h.admin);
  await uploadDataset({ ctx, input: { projectId, name: 'credit', environment: 'design' }, csv: Readable.from([csvOf(allRows)]) });
  await uploadDataset({ ctx, input: { projectId, name: 'credit', environment: 'production' }, csv: Readable.from([csvOf(allRows.slice(0, FIRST))]) });
  await trainModelVersion({
    ctx,
    input: { projectId, modelName: 'credit-risk', dataset: 'credit', environment: 'production', spec: { target: 'status', positiveClass: 'bad', algorithm: 'logistic_regression', features: ['age'] } },
  });
  await appendRows({ ctx, input: { projectId, name: 'credit', environment: 'production', rows: allRows.slice(FIRST) } });
  await h.deploy(
    [
      { id: 'train', kind: 'train', source: trainCell },
      { id: 'ep', kind: 'endpoint', source: 'name: risk-live\nmodel: credit-risk\n' },
      scenario('shadow-cancel', '      for: 1h'),
      scenario('shadow-strict', '      for: 3s\n      minRecords: 100000'),
      scenario('shadow-ended', '      for: 4s\n      minRecords: 0'),
      scenario('shadow-bad-labels', '      for: 2s\n      labels: { dataset: nowhere, key: id, label: status }'),
      scenario('shadow-pass', '      for: 8s\n      minRecords: 50\n      labels: { dataset: credit_labels, key: id, label: status }'),
    ],
    'shadowed retrain',
  );
  await h.startWorker();
}, 180_000);

afterAll(() => h?.close(), 60_000);

const waitForRun = (runId: string, until: (run: ScenarioRunView) => boolean) => h.waitForRun(runId, until);
const finished = runFinished;

it('judges champion and challenger only on holdout rows the champion did not train on (exactly those)', { timeout: 180_000 }, async () => {
  const { runId } = await caller().scenarios.run({ projectId, scenario: 'shadow-cancel' });
  const run = await waitForRun(runId, (r) => shadowingNow(r) || finished(r));
  const output = run.steps[0]!.output as { holdoutRows: number; evaluatedRows: number; championSeenRows: number };

  // Recompute the challenger's split the way training does (all 4,454 rows in table order); v1 was
  // refit on all of the first 3,000 rows after its holdout evaluation, so it saw every one of them.
  const inTableOrder = (await t.query(`select id::int as id, status from "${schemaNameOf(projectId, 'production')}".credit`)) as { id: number; status: string }[];
  const holdout = { fraction: 0.2, seed: 42, stratify: true };
  const yOf = (rows: { status: string }[]) => Uint8Array.from(rows, (r) => (r.status === 'bad' ? 1 : 0));
  const firstRows = inTableOrder.filter((r) => r.id <= FIRST);
  const championTrained = new Set(firstRows.map((r) => r.id));
  const challengerHoldout = Array.from(holdoutSplit(yOf(inTableOrder), holdout).holdout, (i) => inTableOrder[i]!.id);
  const seen = challengerHoldout.filter((id) => championTrained.has(id)).length;
  expect(seen).toBeGreaterThan(300);
  expect(output).toMatchObject({ holdoutRows: challengerHoldout.length, championSeenRows: seen, evaluatedRows: challengerHoldout.length - seen });
  expect(run.steps[0]!.log.join('\n')).toMatch(new RegExp(`${seen} of the ${challengerHoldout.length} holdout rows are among them`));

  // While it shadows, the champion still answers; cancelling ends the shadow and keeps the champion.
  expect(shadowingNow(run)).toBe(true);
  expect(await versionNumber((await endpoint()).shadowVersionId)).toBe(2);
  expect((await predict(allRows.slice(FIRST, FIRST + 5))).modelVersion).toBe(1);
  await caller().scenarios.cancelRun({ projectId, runId });
  const cancelled = await waitForRun(runId, finished);
  expect(cancelled.status).toBe('cancelled');
  expect(cancelled.steps[0]!.output).toMatchObject({ decision: 'kept_champion', reason: expect.stringMatching(/cancelled during the shadow period/) });
  expect((await endpoint()).shadowVersionId).toBeNull();
  expect(await champion()).toBe(1);
});

it('a challenger whose shadow period falls short (too few scored records) is not promoted; the shadow ends', { timeout: 180_000 }, async () => {
  const { runId } = await caller().scenarios.run({ projectId, scenario: 'shadow-strict' });
  const shadowing = await waitForRun(runId, (r) => shadowingNow(r) || finished(r));
  expect(shadowing.status).toBe('running');
  expect(await versionNumber((await endpoint()).shadowVersionId)).toBe(3);
  // The model page lists the shadow period as a pending decision until the decision replaces it.
  const pending = await caller().models.gateDecisions({ projectId, name: 'credit-risk' });
  expect(pending[0]).toMatchObject({ decision: 'shadowing', scenarioRunId: runId, challenger: { version: 3 }, shadow: { version: 3, endpoints: ['risk-live'], until: expect.any(String) } });
  await predict(allRows.slice(FIRST, FIRST + 10));
  const run = await waitForRun(runId, finished);
  expect(run.status).toBe('succeeded');
  expect(run.steps[0]!.output).toMatchObject({
    decision: 'kept_champion',
    challenger: { version: 3 },
    shadow: { version: 3, pairs: 10, endpoints: [{ name: 'risk-live' }] },
    reason: expect.stringMatching(/10 shadow-scored records, fewer than minRecords 100000/),
  });
  expect((await endpoint()).shadowVersionId).toBeNull();
  expect(await champion()).toBe(1);
  expect((await predict(allRows.slice(FIRST, FIRST + 1))).modelVersion).toBe(1);
  const history = await caller().models.gateDecisions({ projectId, name: 'credit-risk' });
  expect(history.filter((d) => d.scenarioRunId === runId).map((d) => d.decision)).toEqual(['kept_champion']);
  expect(history.some((d) => d.decision === 'shadowing')).toBe(false);
});

it('a shadow an operator ends during the period does not promote the challenger', { timeout: 180_000 }, async () => {
  const { runId } = await caller().scenarios.run({ projectId, scenario: 'shadow-ended' });
  await waitForRun(runId, (r) => shadowingNow(r) || finished(r));
  expect(await versionNumber((await endpoint()).shadowVersionId)).toBe(4);
  await caller().endpoints.update({ projectId, name: 'risk-live', shadowVersion: null });
  const run = await waitForRun(runId, finished);
  expect(run.steps[0]!.output).toMatchObject({ decision: 'kept_champion', reason: expect.stringMatching(/the shadow on risk-live was changed or ended during the period/) });
  expect(await champion()).toBe(1);
});

it('a run that fails at the end of the shadow period (its labels dataset does not exist) still ends the shadow and keeps the champion, audited', { timeout: 180_000 }, async () => {
  const { runId } = await caller().scenarios.run({ projectId, scenario: 'shadow-bad-labels' });
  await waitForRun(runId, (r) => shadowingNow(r) || finished(r));
  expect(await versionNumber((await endpoint()).shadowVersionId)).toBe(5);
  const run = await waitForRun(runId, finished);
  expect(run.status).toBe('failed');
  expect(run.steps[0]).toMatchObject({ status: 'failed', error: expect.stringMatching(/nowhere/), output: { decision: 'kept_champion', reason: expect.stringMatching(/the run ended during the shadow period/) } });
  expect((await endpoint()).shadowVersionId).toBeNull();
  expect(await champion()).toBe(1);
  const history = await caller().models.gateDecisions({ projectId, name: 'credit-risk' });
  expect(history.filter((d) => d.scenarioRunId === runId).map((d) => d.decision)).toEqual(['kept_champion']);
});

it('a challenger that passes the gate shadow-scores live traffic, is judged on labelled live records, then serves without a failed request', { timeout: 180_000 }, async () => {
  const live = allRows.slice(FIRST + 100, FIRST + 400);
  await uploadDataset({ ctx: ctxFor(t.db, h.admin), input: { projectId, name: 'credit_labels', environment: 'production' }, csv: Readable.from([csvOf(live, ['id', 'status'])]) });
  const { runId } = await caller().scenarios.run({ projectId, scenario: 'shadow-pass' });
  await waitForRun(runId, (r) => shadowingNow(r) || finished(r));
  const challenger = await versionNumber((await endpoint()).shadowVersionId);
  expect(challenger).toBe(6);

  // Live traffic through the swap: every request answered, by v1 until the decision, then v6.
  const served: number[] = [];
  let i = 0;
  for (;;) {
    const batch = live.slice(i % live.length, (i % live.length) + 10);
    i += 10;
    served.push((await predict(batch)).modelVersion);
    const view = await caller().scenarios.getRun({ projectId, runId });
    if (finished(view) && served.at(-1) === 6) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const run = await caller().scenarios.getRun({ projectId, runId });
  expect(run.status).toBe('succeeded');
  const out = run.steps[0]!.output as { decision: string; shadow: { pairs: number; labelled: { rows: number; servedAuc: number; shadowAuc: number } } };
  expect(out.decision).toBe('promoted');
  expect(out.shadow.pairs).toBeGreaterThanOrEqual(50);
  expect(out.shadow.labelled.rows).toBeGreaterThanOrEqual(50);
  expect(out.shadow.labelled.shadowAuc).toBeGreaterThan(out.shadow.labelled.servedAuc);
  // v1 then v6, never back.
  expect(served[0]).toBe(1);
  expect(served.findIndex((v) => v === 6)).toBe(served.length - served.filter((v) => v === 6).length);
  expect(await champion()).toBe(6);
  const e = await endpoint();
  expect(e.shadowVersionId).toBeNull();
  expect(await versionNumber(e.pinnedVersionId)).toBe(6);

  const audit = await t.db
    .select({ action: auditEvents.action, details: auditEvents.details })
    .from(auditEvents)
    .where(and(eq(auditEvents.projectId, projectId)))
    .orderBy(auditEvents.seq);
  const decisions = audit.filter((a) => a.action === 'model.gate_decision').map((a) => a.details as { decision: string; shadow?: { pairs: number } });
  expect(decisions.map((d) => d.decision)).toEqual(['kept_champion', 'kept_champion', 'kept_champion', 'kept_champion', 'promoted']);
  expect(decisions[4]!.shadow!.pairs).toBe(out.shadow.pairs);
  expect(audit.filter((a) => a.action === 'model.shadow_start')).toHaveLength(5);
  const history = await caller().models.gateDecisions({ projectId, name: 'credit-risk' });
  expect(history[0]).toMatchObject({ decision: 'promoted', shadow: { version: 6, endpoints: ['risk-live'] }, championSeenRows: expect.any(Number) });
});

it('on a deployed endpoint only the shadow version can change outside a deployment', { timeout: 60_000 }, async () => {
  const updated = await caller().endpoints.update({ projectId, name: 'risk-live', shadowVersion: 1 });
  expect(updated).toMatchObject({ shadowVersion: 1, servingVersion: 6, bundleHash: expect.any(String) });
  await expect(caller().endpoints.update({ projectId, name: 'risk-live', version: 1 })).rejects.toThrow(/served by the deployed bundle/);
  await expect(caller().endpoints.update({ projectId, name: 'risk-live', shadowVersion: 6 })).rejects.toThrow(/is the version endpoint "risk-live" serves/);
  expect((await caller().endpoints.update({ projectId, name: 'risk-live', shadowVersion: null })).shadowVersion).toBeNull();
});
