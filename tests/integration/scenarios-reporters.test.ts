import { createReadStream } from 'node:fs';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { notificationDeliveries, runs } from '@/db/schema';
import type { Actor } from '@/server/services/context';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { trainModelVersion } from '@/server/services/models/train-model-version';
import { enqueueScenarioReports, reportDeliveryId } from '@/server/services/scenarios/reporters';
import { createWorkflowStarter } from '@/workflows/client';
import type { ScenarioReport } from '@/workflows/shared/scenario';
import { ctxFor } from '../helpers/api';
import { creditDataCsv } from '../helpers/datasets';
import type { TestDatabase } from '../helpers/db';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/notifications';
import { setNotebookCells, type TestCell } from '../helpers/pipeline';
import { scenarioHarness, type ScenarioHarness } from '../helpers/scenarios';

const scenario = (id: string, yaml: string): TestCell => ({ id, kind: 'scenario', source: yaml });

const cells: TestCell[] = [
  { id: 'train', kind: 'train', source: 'model: credit-risk\ndataset: credit\ntarget: status\npositiveClass: bad\nalgorithm: logistic_regression\nrefit: false\n' },
  scenario(
    's_failing',
    `name: failing
triggers:
  - type: manual
steps:
  - type: sql
    sql: select * from no_such_table
reporters:
  - channel: hook
    on: [failure]
  - channel: hook
    on: [success]
`,
  ),
  scenario(
    's_passing',
    `name: passing
triggers:
  - type: manual
steps:
  - type: sql
    sql: select status, count(*) as n from credit group by status
reporters:
  - channel: hook
    on: [failure]
  - channel: hook
    on: [success]
    message: passing is fine
  - channel: nowhere
    on: [success]
`,
  ),
  scenario(
    's_retrain',
    `name: retrain
triggers:
  - type: manual
steps:
  - type: retrain
    model: credit-risk
    gate:
      metric: auc
      minRows: 500
reporters:
  - channel: hook
    on: [gate_decision]
`,
  ),
];

let h: ScenarioHarness;
let t: TestDatabase;
let receiver: WebhookReceiver;
let projectId: string;

const caller = (actor?: Actor) => h.caller(actor);
type Hook = { event: string; runId: string; runUrl: string; message: string | null; data: Record<string, unknown> };
const runToEnd = async (name: string) => (await h.runToEnd(name)).run;

/** The run's reports as recorded on it, once the workflow recorded them (after the run's status). */
async function reportsOf(runId: string, count: number): Promise<ScenarioReport[]> {
  let reports: ScenarioReport[] = [];
  await vi.waitFor(
    async () => {
      const [run] = await t.db.select({ result: runs.result }).from(runs).where(eq(runs.id, runId));
      reports = (run?.result?.reports as ScenarioReport[] | undefined) ?? [];
      expect(reports).toHaveLength(count);
    },
    { timeout: 30_000, interval: 200 },
  );
  return reports;
}

const hooksOf = (runId: string) =>
  receiver.received.map((r) => ({ headers: r.headers, body: JSON.parse(r.body) as Hook })).filter((h) => h.body.runId === runId);

beforeAll(async () => {
  h = await scenarioHarness('reporters');
  ({ t, projectId } = h);
  receiver = await startWebhookReceiver();
  for (const environment of ['design', 'production'] as const) {
    await uploadDataset({ ctx: ctxFor(t.db, h.admin), input: { projectId, name: 'credit', environment }, csv: createReadStream(creditDataCsv) });
  }
  // The champion learnt from `age` alone: the notebook's challenger (every column) passes the gate.
  // refit: false (champion and train cell): design and production hold the same rows, so a refit
  // champion would have seen every row a challenger could be judged on (the gate would have none).
  await trainModelVersion({
    ctx: ctxFor(t.db, h.admin),
    input: { projectId, modelName: 'credit-risk', dataset: 'credit', environment: 'design', spec: { target: 'status', positiveClass: 'bad', algorithm: 'logistic_regression', features: ['age'], refit: false } },
  });
  await caller().notifications.create({ projectId, name: 'hook', kind: 'webhook', url: receiver.url });
  const notebook = await caller().notebooks.create({ projectId, name: 'Reported' });
  await setNotebookCells(t.db, notebook.id, cells);
  const compiled = await caller().pipeline.compile({ projectId, notebookId: notebook.id });
  expect(compiled.diagnostics.filter((d) => d.code === 'unknown-channel').map((d) => [d.cellId, d.severity, d.message])).toEqual([
    ['s_passing', 'warning', `unknown notification channel "nowhere": create it under the project's notification channels`],
  ]);
  const { bundle } = await caller().bundles.promote({ projectId, notebookId: notebook.id, releaseNotes: 'reporters', confirmFailedBuild: true });
  await caller().deployments.deploy({ projectId, bundleHash: bundle.hash, reason: 'reporters' });
  await h.startWorker();
}, 180_000);

afterAll(async () => {
  await receiver?.close();
  await h?.close();
}, 60_000);

describe('scenario reporters', () => {
  it('a failed run sends exactly one scenario.failed webhook with the failed step, the error and the run link; a success reporter stays quiet', { timeout: 150_000 }, async () => {
    const run = await runToEnd('failing');
    expect(run.status).toBe('failed');
    const [report] = await reportsOf(run.runId, 1);
    const deliveryId = reportDeliveryId(run.runId, 0, 'scenario.failed');
    expect(report).toMatchObject({ reporter: 0, channel: 'hook', event: 'scenario.failed', deliveryId, status: 'delivered', line: 'reported to hook (delivered)' });

    const hooks = hooksOf(run.runId);
    expect(hooks).toHaveLength(1);
    expect(hooks[0]!.headers['x-stagebook-event']).toBe('scenario.failed');
    expect(hooks[0]!.headers['x-stagebook-delivery']).toBe(deliveryId);
    const runUrl = `/projects/${projectId}/runs/${run.runId}`;
    expect(hooks[0]!.body).toMatchObject({
      runUrl,
      message: 'scenario "failing" failed at step 1 (sql)',
      data: { scenario: 'failing', runId: run.runId, status: 'failed', trigger: 'manual', bundleHash: run.bundleHash, failedStep: { index: 0, name: 'sql' }, error: expect.stringMatching(/no_such_table/), runUrl },
    });

    // A retried activity (or a replayed workflow) derives the same delivery: nothing new is queued or sent.
    const again = await enqueueScenarioReports({ ...ctxFor(t.db, h.admin), workflows: createWorkflowStarter(h.client, h.taskQueue) }, run.runId, { kind: 'finished' });
    expect(again.queued.map((q) => q.deliveryId)).toEqual([deliveryId]);
    expect(await t.db.select().from(notificationDeliveries).where(eq(notificationDeliveries.runId, run.runId))).toHaveLength(1);
    expect(hooksOf(run.runId)).toHaveLength(1);
  });

  it('a succeeded run sends scenario.succeeded to its success reporter; a reporter of a missing channel is recorded on the run without failing it', { timeout: 150_000 }, async () => {
    const run = await runToEnd('passing');
    expect(run.status).toBe('succeeded');
    const reports = await reportsOf(run.runId, 2);
    expect(reports).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ reporter: 1, channel: 'hook', event: 'scenario.succeeded', status: 'delivered', deliveryId: reportDeliveryId(run.runId, 1, 'scenario.succeeded') }),
        expect.objectContaining({ reporter: 2, channel: 'nowhere', status: 'refused', deliveryId: null, line: expect.stringMatching(/^reported to nowhere \(refused: reporter nowhere: .*nowhere/) }),
      ]),
    );
    const hooks = hooksOf(run.runId);
    expect(hooks.map((h) => h.headers['x-stagebook-event'])).toEqual(['scenario.succeeded']);
    expect(hooks[0]!.body).toMatchObject({ message: 'passing is fine', runUrl: `/projects/${projectId}/runs/${run.runId}`, data: { scenario: 'passing', status: 'succeeded', trigger: 'manual' } });
    expect(hooks[0]!.body.data).not.toHaveProperty('failedStep');
    // What the run page's log shows.
    const view = await caller().scenarios.getRun({ projectId, runId: run.runId });
    expect(view.status).toBe('succeeded');
    expect(view.reports.map((r) => r.line)).toEqual(expect.arrayContaining(['reported to hook (delivered)', expect.stringMatching(/^reported to nowhere \(refused: /)]));
  });

  it('a retrain step sends its gate decision to gate_decision reporters: model, decision, metric, both metrics, the reason and the run link', { timeout: 180_000 }, async () => {
    const run = await runToEnd('retrain');
    expect(run.status).toBe('succeeded');
    const output = run.steps[0]!.output as { decision: string; champion: unknown; challenger: unknown; reason: string };
    const [report] = await reportsOf(run.runId, 1);
    expect(report).toMatchObject({ event: 'gate.decision', stepIndex: 0, status: 'delivered', deliveryId: reportDeliveryId(run.runId, 0, 'gate.decision', 0), line: 'reported the gate decision of step 1 to hook (delivered)' });
    const hooks = hooksOf(run.runId);
    expect(hooks).toHaveLength(1);
    expect(hooks[0]!.headers['x-stagebook-event']).toBe('gate.decision');
    expect(hooks[0]!.body.data).toEqual({
      scenario: 'retrain',
      runId: run.runId,
      runUrl: `/projects/${projectId}/runs/${run.runId}`,
      model: 'credit-risk',
      decision: 'promoted',
      metric: 'auc',
      champion: output.champion,
      challenger: output.challenger,
      reason: output.reason,
    });
    expect(output.decision).toBe('promoted');
  });
});
