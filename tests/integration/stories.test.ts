/**
 * The two production stories of the demo seed, end to end on real Postgres and the real Temporal dev
 * server, with a worker: the seed builds, trains, promotes and deploys both projects through the
 * services; then
 * - batch: the real Temporal Schedule of `nightly_forecast` is triggered (as at 05:00) and its run
 *   rebuilds, checks and publishes one forecast per location in production;
 * - real time: clients score through the REST predict route without pause while labelled
 *   applications are appended over the REST ingest route, twice; each time the dataset watcher
 *   starts `retrain_on_new_labels` and the gate decides: more of the same keeps the champion,
 *   labels that drifted promote the challenger and the endpoint swaps to it. No request fails.
 * Prints the seed time, the trigger-to-start latencies and the retrain run's duration.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { auditEvents, users } from '@/db/schema';
import { buildApp } from '@/server/app';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import type { Actor, UserId } from '@/server/services/context';
import { schemaNameOf } from '@/server/services/datasets/storage';
import { CREDIT, FORECAST } from '@/server/services/demo/demo-notebooks';
import { DEMO_LOCATIONS, generateSalesHistory } from '@/server/services/demo/sales-history';
import { seedDemo, type DemoSeedResult } from '@/server/services/demo/seed-demo';
import { syncScenarioTriggers } from '@/server/services/scenarios/triggers/sync-triggers';
import { bootstrapAdmin } from '@/server/services/system/bootstrap-admin';
import { connectTemporal, createWorkflowStarter } from '@/workflows/client';
import { scenarioScheduleId, scenarioWatcherId } from '@/workflows/shared/scenario';
import { scenarioWatchStateQuery } from '@/workflows/shared/scenario-watch';
import { createWorker, type StagebookWorker } from '@/workflows/worker';
import { callerFor, ctxFor } from '../helpers/api';
import { creditDataCsv, disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { quietTemporalRuntime, uniqueTaskQueue, useTestTemporal, type TestTemporal } from '../helpers/temporal';

const LAST_SALES_DAY = '2025-06-29';
const ADMIN_EMAIL = 'first-admin@stories.test';

let temporal: TestTemporal;
let client: Client;
let t: TestDatabase;
let worker: StagebookWorker;
let app: FastifyInstance;
let baseUrl: string;
let admin: Extract<Actor, { type: 'user' }>;
let seeded: Extract<DemoSeedResult, { status: 'seeded' }>;
const taskQueue = uniqueTaskQueue('stories');
const report: string[] = [];

const caller = () => callerFor(t.db, admin, { workflows: createWorkflowStarter(client, taskQueue) });
type RunView = Awaited<ReturnType<ReturnType<typeof caller>['scenarios']['getRun']>>;

async function finished(projectId: string, runId: string, timeout = 180_000): Promise<RunView> {
  let view: RunView | undefined;
  await vi.waitFor(
    async () => {
      view = await caller().scenarios.getRun({ projectId, runId });
      expect(['succeeded', 'failed', 'cancelled', 'skipped']).toContain(view.status);
    },
    { timeout, interval: 250 },
  );
  return view!;
}

const scenarioRuns = (projectId: string, triggerKind: string) =>
  t.query(
    `select id, workflow_id, status, created_at, started_at from runs where project_id = '${projectId}' and kind = 'scenario' and input->'trigger'->>'kind' = '${triggerKind}' order by created_at`,
  );

beforeAll(async () => {
  quietTemporalRuntime();
  temporal = await useTestTemporal();
  client = await connectTemporal(temporal.address, temporal.namespace);
  t = await openTestDatabase('postgres');
  // As on a first start: bootstrap creates the first admin, then the seed runs with the worker up.
  await bootstrapAdmin(t.db, { email: ADMIN_EMAIL, password: 'correct horse battery' });
  const [user] = await t.db.select().from(users).where(eq(users.email, ADMIN_EMAIL));
  admin = { type: 'user', userId: user!.id as UserId, email: user!.email, name: user!.name };
  worker = await createWorker({ db: t.db, address: temporal.address, namespace: temporal.namespace, taskQueue });
  void worker.run();
  const result = await seedDemo({
    db: t.db,
    workflows: createWorkflowStarter(client, taskQueue),
    adminEmail: ADMIN_EMAIL,
    lastSalesDay: LAST_SALES_DAY,
    log: (line) => report.push(`  seed: ${line}`),
  });
  if (result.status !== 'seeded') throw new Error(`seed skipped: ${result.reason}`);
  seeded = result;
  report.push(`demo seed (both projects built, trained, promoted, deployed): ${result.seconds.toFixed(1)} s`);
  app = await buildApp({ db: t.db, driver: t.driver, role: 'api', logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}, 300_000);

afterAll(async () => {
  for (const p of [seeded?.forecast, seeded?.credit]) {
    if (p && client) await syncScenarioTriggers({ client, taskQueue, projectId: p.projectId, scenarios: [] }).catch(() => undefined);
  }
  await app?.close();
  await worker?.shutdown();
  await client?.connection.close();
  await disposeWithProjectRoles(t);
  await temporal?.stop();
  if (report.length) console.log(`production stories:\n  ${report.join('\n  ')}`);
}, 60_000);

describe('the demo seed', () => {
  it('creates the Demo team for the first admin with both projects deployed, audited as system:demo, and does nothing on an instance that has projects', async () => {
    const teams = await caller().teams.list();
    expect(teams.map((team) => [team.name, team.role])).toEqual(expect.arrayContaining([['Demo', 'admin']]));
    const projects = await caller().projects.list({ teamId: seeded.teamId });
    expect(projects.map((p) => p.name).sort()).toEqual([CREDIT.project, FORECAST.project]);
    for (const p of [seeded.forecast, seeded.credit!]) {
      const [deployment] = await caller().deployments.list({ projectId: p.projectId });
      expect(deployment).toMatchObject({ bundleHash: p.bundleHash, active: true, activatedBy: 'system:demo' });
    }
    const actions = await t.query(`select action from audit_events where actor_label = 'system:demo'`);
    expect(new Set(actions.map((a) => a.action))).toEqual(
      new Set(['team.create', 'project.create', 'notebook.create', 'dataset.create', 'dataset.upload', 'build.start', 'bundle.promote', 'deployment.activate', 'scenario.run_start']),
    );
    expect(await seedDemo({ db: t.db, workflows: createWorkflowStarter(client, taskQueue), adminEmail: ADMIN_EMAIL })).toEqual({ status: 'skipped', reason: 'the instance already has projects' });
  });
});

describe('batch story: the nightly forecast', () => {
  it('ran once at seed time, so the first visit shows a forecast in production and a run in the history', async () => {
    const projectId = seeded.forecast.projectId;
    expect(seeded.forecast.firstRunId).not.toBeNull();
    expect(seeded.credit!.firstRunId).toBeNull();
    const [run] = await caller().scenarios.runs({ projectId, scenario: FORECAST.scenario });
    expect(run).toMatchObject({ runId: seeded.forecast.firstRunId, status: 'succeeded', trigger: { kind: 'manual', detail: { by: 'demo seed' } } });
    const rows = await t.query(`select location from "${schemaNameOf(projectId, 'production')}".demand_forecast order by location`);
    expect(rows.map((r) => r.location)).toEqual([...DEMO_LOCATIONS].sort());
  });

  it('the real Schedule, triggered now, rebuilds the forecast in production: one checked row per location, equal to the forecast computed from the sales history', { timeout: 240_000 }, async () => {
    const projectId = seeded.forecast.projectId;
    const handle = client.schedule.getHandle(scenarioScheduleId(projectId, FORECAST.scenario, 0));
    const schedule = await handle.describe();
    expect(schedule.spec.timezone).toBe('Europe/Paris');
    const triggeredAt = Date.now();
    await handle.trigger();
    await vi.waitFor(async () => expect(await scenarioRuns(projectId, 'schedule')).toHaveLength(1), { timeout: 60_000, interval: 100 });
    const [row] = await scenarioRuns(projectId, 'schedule');
    const workflow = await client.workflow.getHandle(String(row!.workflow_id)).describe();
    const run = await finished(projectId, String(row!.id));
    expect(run.status, run.error ?? '').toBe('succeeded');
    report.push(
      `schedule trigger (Schedule.trigger()) -> run workflow start ${workflow.startTime.getTime() - triggeredAt} ms, -> run started ${Date.parse(run.startedAt!) - triggeredAt} ms; nightly_forecast run ${((Date.parse(run.finishedAt!) - Date.parse(run.startedAt!)) / 1000).toFixed(1)} s`,
    );
    expect(run.trigger).toMatchObject({ kind: 'schedule', detail: { cron: '0 5 * * *', timezone: 'Europe/Paris' } });
    expect(run.steps.map((s) => [s.type, s.status])).toEqual([
      ['build', 'succeeded'],
      ['checks', 'succeeded'],
    ]);
    const checks = (run.steps[1]!.output as { checks: { name: string; passed: boolean }[] }).checks;
    expect(checks).toHaveLength(5);
    expect(checks.filter((c) => !c.passed)).toEqual([]);

    const rows = await t.query(`select location, forecast_day, forecast_units from "${schemaNameOf(projectId, 'production')}".demand_forecast order by location`);
    expect(rows.map((r) => r.location)).toEqual([...DEMO_LOCATIONS].sort());
    const expected = expectedForecast(LAST_SALES_DAY);
    for (const r of rows) {
      expect(new Date(r.forecast_day as string).toISOString().slice(0, 10)).toBe('2025-06-30');
      expect(Number(r.forecast_units)).toBeCloseTo(expected.get(String(r.location))!, 0);
    }
    const dataset = await caller().datasets.get({ projectId, name: FORECAST.output, environment: 'production' });
    expect(dataset).toMatchObject({ kind: 'built', rowCount: DEMO_LOCATIONS.length });
  });
});

describe('real-time story: scoring while new labels arrive', () => {
  type Decision = { decision: 'promoted' | 'kept_champion'; champion: { version: number; value: number }; challenger: { version: number | null; value: number }; holdoutRows: number; evaluatedRows: number; championSeenRows: number; reason: string; shadow?: { version: number; pairs: number; agreement: number | null } };

  it(
    'clients score without a failed request while two waves of labels trigger retrains: more of the same keeps the champion, drifted labels promote the challenger and the endpoint swaps to it; both decisions audited',
    { timeout: 300_000 },
    async () => {
      const projectId = seeded.credit!.projectId;
      const ctx = ctxFor(t.db, admin);
      const scoreKey = (await createApiKey({ ctx, input: { projectId, name: 'scoring client', scopes: [`score:${CREDIT.endpoint}`] } })).secret;
      const ingestKey = (await createApiKey({ ctx, input: { projectId, name: 'labels feed', scopes: [`ingest:${CREDIT.source}`] } })).secret;
      const applications = creditRows();
      // New labels are new applications: a copy of a row the champion was fitted on (every labelled
      // row, after the refit) would be no evidence for the gate. A few more units of amount make each
      // row new while keeping the distribution; each wave shifts by its own amount so waves never repeat.
      const fresh = (shift: number) => (r: Record<string, string | number | boolean>) => ({ ...r, amount: Number(r.amount) + shift });
      const records = applications.slice(0, 50).map(({ status: _status, ...features }) => features);

      /** Appends over the REST ingest route; waits for the run the watcher starts and for its end. */
      const wave = async (label: string, rows: Record<string, unknown>[], expectedCount: number) => {
        const before = (await scenarioRuns(projectId, 'dataset_change')).length;
        const ingestedAt = Date.now();
        const appended = await fetch(`${baseUrl}/api/v1/projects/${projectId}/datasets/${CREDIT.source}/rows?environment=production`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ingestKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ rows }),
        });
        expect(appended.status, await appended.clone().text()).toBe(200);
        expect(await appended.json()).toMatchObject({ appended: rows.length, rowCount: expectedCount });
        await vi.waitFor(async () => expect(await scenarioRuns(projectId, 'dataset_change')).toHaveLength(before + 1), { timeout: 60_000, interval: 100 });
        const row = (await scenarioRuns(projectId, 'dataset_change'))[before]!;
        const workflow = await client.workflow.getHandle(String(row.workflow_id)).describe();
        const run = await finished(projectId, String(row.id));
        expect(run.status, run.error ?? '').toBe('succeeded');
        expect(run.trigger).toMatchObject({ kind: 'dataset_change', detail: { dataset: CREDIT.source, to: `count=${expectedCount}` } });
        const decision = run.steps[1]!.output as Decision;
        report.push(
          `dataset_change trigger (every 30s), ${label}: append of ${rows.length} rows -> run recorded ${new Date(row.created_at as string).getTime() - ingestedAt} ms, -> run workflow start ${workflow.startTime.getTime() - ingestedAt} ms`,
        );
        report.push(
          `retrain_on_new_labels on ${expectedCount.toLocaleString('en-US')} rows (logistic regression, gate auc >= champion + 0.005 on rows the champion did not train on, minRows 250): run ${((Date.parse(run.finishedAt!) - Date.parse(run.startedAt!)) / 1000).toFixed(1)} s (retrain step ${((run.steps[1]!.durationMs ?? 0) / 1000).toFixed(1)} s); ${decision.decision}: ${decision.reason}`,
        );
        expect(decision.evaluatedRows).toBeGreaterThanOrEqual(250);
        return decision;
      };

      // The watcher's first reading is its baseline: appending before it would start nothing.
      const watcher = client.workflow.getHandle(scenarioWatcherId(projectId, CREDIT.scenario, 0));
      await vi.waitFor(async () => expect((await watcher.query(scenarioWatchStateQuery)).lastFingerprint).toBe('count=4454'), { timeout: 60_000, interval: 250 });

      const load = scoringLoad(scoreKey, records);
      try {
        await vi.waitFor(() => expect(load.ok, load.failureSamples.join('\n')).toBeGreaterThan(20), { timeout: 30_000, interval: 100 });

        // More of the same: the challenger has nothing new to learn.
        const same = await wave('more of the same', applications.filter((_, i) => i % 2 === 0).slice(0, 1500).map(fresh(1)), 5954);
        expect(same.decision).toBe('kept_champion');

        // Drifted labels: in the new period large loans (amount >= 1,300, the top quarter) went bad.
        const drifted = applications.filter((_, i) => i % 3 === 1).slice(0, 1200).map(fresh(2)).map((r) => ({ ...r, status: Number(r.amount) >= 1300 ? 'bad' : 'good' }));
        const promoted = await wave('drifted labels', drifted, 7154);
        expect(promoted).toMatchObject({ decision: 'promoted', champion: { version: 1 }, challenger: { version: 2 }, shadow: { version: 2, endpoints: [{ name: CREDIT.endpoint }] } });
        // The challenger shadow-scored the live traffic before it took over.
        expect(promoted.shadow!.pairs).toBeGreaterThanOrEqual(50);
        report.push(`shadow period before the swap (15 s): ${promoted.shadow!.pairs} live records scored by both, ${((promoted.shadow!.agreement ?? 0) * 100).toFixed(1)}% agreement`);

        // Every request made from now on is answered by the new champion.
        const settled = load.ok;
        await vi.waitFor(() => expect(load.ok).toBeGreaterThan(settled + 20), { timeout: 30_000, interval: 100 });
        const after = await load.stop();
        expect(after.failures, after.failureSamples.join('\n')).toBe(0);
        expect(after.lastVersion).toBe(2);
        expect([...after.versions].sort()).toEqual([1, 2]);
        report.push(`scoring under load through both retrains: ${after.ok} requests, 0 failed, versions served 1 then 2`);
      } finally {
        await load.stop();
      }

      const audited = await t.db
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.projectId, projectId), eq(auditEvents.action, 'model.gate_decision')))
        .orderBy(asc(auditEvents.seq));
      expect(audited.map((a) => [a.actorType, (a.details as { decision: string }).decision])).toEqual([
        ['workflow', 'kept_champion'],
        ['workflow', 'promoted'],
      ]);
      expect(audited[1]!.details).toMatchObject({ model: CREDIT.model, data: { rows: expect.any(Number), fingerprint: expect.any(String) }, endpoints: [CREDIT.endpoint] });
    },
  );
});

/** A few clients scoring one record at a time, back to back, until stopped; every non-200 is a failure. */
function scoringLoad(key: string, records: Record<string, unknown>[], clients = 2) {
  const state = { ok: 0, failures: 0, failureSamples: [] as string[], versions: new Set<number>(), lastVersion: 0 };
  let running = true;
  const loop = async (offset: number) => {
    for (let i = offset; running; i++) {
      try {
        const res = await fetch(`${baseUrl}/api/v1/endpoints/${CREDIT.endpoint}/predict`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ records: [records[i % records.length]] }),
        });
        const body = (await res.json()) as { modelVersion?: number };
        if (res.status !== 200 || typeof body.modelVersion !== 'number') throw new Error(`${res.status} ${JSON.stringify(body)}`);
        state.ok++;
        state.versions.add(body.modelVersion);
        state.lastVersion = body.modelVersion;
      } catch (err) {
        state.failures++;
        if (state.failureSamples.length < 5) state.failureSamples.push(String(err));
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const loops = Array.from({ length: clients }, (_, c) => loop(c * 7));
  return Object.assign(state, {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return state;
    },
  });
}

/** credit_data.csv's complete rows (no NA) as the JSON an ingest client sends: lowercase columns, numbers as numbers, yes/no (`records`) as booleans. */
function creditRows(): Record<string, string | number | boolean>[] {
  const [header, ...lines] = readFileSync(creditDataCsv, 'utf8').trim().split('\n');
  const columns = header!.split(',').map((c) => c.replace(/"/g, '').toLowerCase());
  return lines
    .map((line) => line.split(',').map((v) => v.replace(/"/g, '')))
    .filter((values) => !values.includes('NA'))
    .map((values) => Object.fromEntries(values.map((v, i) => [columns[i]!, /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v === 'yes' || v === 'no' ? v === 'yes' : v])));
}

/** The notebook's forecast, computed here from the generated history: the SQL must agree with it. */
function expectedForecast(lastDay: string): Map<string, number> {
  const history = generateSalesHistory({ lastDay });
  const end = Date.parse(`${lastDay}T00:00:00Z`);
  const forecastDay = end + 86_400_000;
  const out = new Map<string, number>();
  for (const location of DEMO_LOCATIONS) {
    const byDay = new Map(history.filter((r) => r.location === location).map((r) => [Date.parse(`${r.day}T00:00:00Z`), r.units]));
    const weeksAgo = (w: number) => byDay.get(forecastDay - w * 7 * 86_400_000)!;
    const level = (4 * weeksAgo(1) + 3 * weeksAgo(2) + 2 * weeksAgo(3) + 1 * weeksAgo(4)) / 10;
    const mean = (from: number, to: number) => {
      let sum = 0;
      for (let d = from; d <= to; d++) sum += byDay.get(end - d * 86_400_000)!;
      return sum / (to - from + 1);
    };
    const perDay = (mean(0, 27) - mean(28, 55)) / 28;
    out.set(location, Math.round(Math.max(0, level + perDay * 14) * 10) / 10);
  }
  return out;
}
