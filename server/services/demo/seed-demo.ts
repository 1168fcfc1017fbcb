import { createReadStream, existsSync } from 'node:fs';
import path from 'node:path';
import { count, eq } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { projects, runs, teamMembers, teams, users } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import { startBuild } from '../builds/start-build';
import { promoteBundle } from '../bundles/promote-bundle';
import type { ServiceCtx } from '../context';
import { uploadDataset } from '../datasets/upload-dataset';
import { deployBundle } from '../activation/deploy-bundle';
import { createNotebook } from '../notebooks/create-notebook';
import { storeNotebookCells } from '../notebooks/store-cells';
import { createProject } from '../projects/create-project';
import { startScenarioRun } from '../scenarios/start-scenario-run';
import type { WorkflowStarter } from '../workflow-starter';
import { CREDIT, creditCells, FORECAST, forecastCells, type DemoCell } from './demo-notebooks';
import { generateSalesHistory, salesHistoryCsv, yesterdayUtc } from './sales-history';

/**
 * The demo a first start shows: a team "Demo" owned by the first admin with the two production
 * stories, each built, promoted and deployed so its scenarios are live. Everything goes through the
 * services a person would use (audited as `system:demo`); the builds and the training run on the
 * Temporal worker like any other. Runs in the background after the server listens: a failure is
 * logged by the caller and leaves what was done so far (the next start does not retry: the
 * instance is no longer empty).
 */
export type SeedDemoDeps = {
  db: Db;
  workflows: WorkflowStarter;
  /** The first admin, who becomes the Demo team's admin. */
  adminEmail: string;
  log?: (line: string) => void;
  /** Stops waiting (server shutdown); what is under way finishes on its own. */
  signal?: AbortSignal;
  /** credit_data.csv; by default found beside the checkout. null: seed the forecast project only. */
  creditCsv?: string | null;
  /** The last day of the generated sales history; default yesterday (UTC). */
  lastSalesDay?: string;
  buildTimeoutMs?: number;
};

export type DemoProject = {
  projectId: string;
  notebookId: string;
  buildRunId: string;
  bundleHash: string;
  /** The production scenario run started at seed time (the forecast's first nightly run), if any. */
  firstRunId: string | null;
  seconds: number;
};
export type DemoSeedResult =
  | { status: 'seeded'; teamId: string; forecast: DemoProject; credit: DemoProject | null; seconds: number }
  | { status: 'skipped'; reason: string };

export const DEMO_ACTOR = { type: 'system', name: 'demo' } as const;

const repoRoot = path.resolve(import.meta.dirname, '../../..');

/** credit_data.csv of the workplace's shared data: beside the checkout, or at /work/shared/data. */
export function findCreditCsv(): string | null {
  const candidates = [path.resolve(repoRoot, '../shared/data/credit_data.csv'), '/work/shared/data/credit_data.csv'];
  return candidates.find((p) => existsSync(p)) ?? null;
}

export async function seedDemo(deps: SeedDemoDeps): Promise<DemoSeedResult> {
  const started = performance.now();
  const log = deps.log ?? (() => undefined);
  const { db } = deps;
  const [existing] = await db.select({ n: count() }).from(projects);
  if ((existing?.n ?? 0) > 0) return { status: 'skipped', reason: 'the instance already has projects' };
  const [admin] = await db.select({ id: users.id }).from(users).where(eq(users.email, deps.adminEmail.toLowerCase()));
  if (!admin) return { status: 'skipped', reason: `no user ${deps.adminEmail} to own the demo team` };

  const ctx: ServiceCtx = { db, actor: DEMO_ACTOR, requestId: 'demo-seed', clientIp: null, workflows: deps.workflows };
  const teamId = await createDemoTeam(ctx, admin.id);
  log(`team "${FORECAST.team}" created for ${deps.adminEmail}`);

  const salesCsv = salesHistoryCsv(generateSalesHistory({ lastDay: deps.lastSalesDay ?? yesterdayUtc() }));
  const forecast = await seedProject(ctx, deps, log, {
    teamId,
    name: FORECAST.project,
    description: FORECAST.description,
    notebook: FORECAST.notebook,
    cells: forecastCells,
    source: FORECAST.source,
    csv: () => [Buffer.from(salesCsv)],
    releaseNotes: 'Demo: next-day demand forecast per location, rebuilt nightly at 05:00 (Europe/Paris) by nightly_forecast.',
    // Run once now: the first visit shows a forecast in production, a run in the history and its chart,
    // not an empty table until someone presses Run now or 05:00 comes.
    firstRun: FORECAST.scenario,
  });

  const creditCsv = deps.creditCsv === undefined ? findCreditCsv() : deps.creditCsv;
  let credit: DemoProject | null = null;
  if (!creditCsv) {
    log('credit_data.csv was not found (../shared/data beside the checkout, or /work/shared/data): the "Credit scoring" project is not seeded');
  } else {
    credit = await seedProject(ctx, deps, log, {
      teamId,
      name: CREDIT.project,
      description: CREDIT.description,
      notebook: CREDIT.notebook,
      cells: creditCells,
      source: CREDIT.source,
      csv: () => createReadStream(creditCsv),
      releaseNotes: `Demo: logistic regression "${CREDIT.model}" served by ${CREDIT.endpoint}; ${CREDIT.scenario} retrains it when labelled applications arrive.`,
    });
  }
  return { status: 'seeded', teamId, forecast, credit, seconds: (performance.now() - started) / 1000 };
}

/** As `createTeam`, whose caller must be the user who will own it; here the system acts for them. */
async function createDemoTeam(ctx: ServiceCtx, adminId: string): Promise<string> {
  return ctx.db.transaction(async (tx) => {
    const [team] = await tx.insert(teams).values({ name: FORECAST.team, createdBy: adminId }).returning();
    if (!team) throw new Error('team insert returned no row');
    await tx.insert(teamMembers).values({ teamId: team.id, userId: adminId, role: 'admin' });
    await emitAudit(tx, { actor: DEMO_ACTOR, requestId: ctx.requestId }, {
      action: 'team.create',
      target: { type: 'team', id: team.id },
      teamId: team.id,
      details: { name: team.name, admin: adminId, by: 'demo seed' },
    });
    return team.id;
  });
}

type ProjectPlan = {
  teamId: string;
  name: string;
  description: string;
  notebook: string;
  cells: DemoCell[];
  source: string;
  csv: () => AsyncIterable<Buffer | string> | Iterable<Buffer>;
  releaseNotes: string;
  /** A deployed scenario to run once after the deploy, waited for like the build. */
  firstRun?: string;
};

async function seedProject(ctx: ServiceCtx, deps: SeedDemoDeps, log: (line: string) => void, plan: ProjectPlan): Promise<DemoProject> {
  const started = performance.now();
  const project = await createProject({ ctx, input: { teamId: plan.teamId, name: plan.name, description: plan.description } });
  const notebook = await createNotebook({ ctx, input: { projectId: project.id, name: plan.notebook } });
  await storeNotebookCells(ctx.db, notebook.id, plan.cells);
  for (const environment of ['design', 'production'] as const) {
    const csv = plan.csv();
    const uploaded = await uploadDataset({ ctx, input: { projectId: project.id, name: plan.source, environment }, csv: toAsync(csv) });
    log(`${plan.name}: ${plan.source} uploaded to ${environment} (${uploaded.rows.toLocaleString('en-US')} rows)`);
  }
  deps.signal?.throwIfAborted();
  const { runId } = await startBuild({ ctx, input: { projectId: project.id, notebookId: notebook.id, target: { kind: 'all' } } });
  log(`${plan.name}: design build ${runId} started`);
  const status = await waitForRun(ctx.db, runId, deps.buildTimeoutMs ?? 300_000, deps.signal);
  if (status !== 'succeeded') throw new Error(`${plan.name}: the design build ${runId} ended ${status}`);
  log(`${plan.name}: design build succeeded`);
  const { bundle } = await promoteBundle({ ctx, input: { projectId: project.id, notebookId: notebook.id, releaseNotes: plan.releaseNotes, confirmFailedBuild: false } });
  const activation = await deployBundle({ ctx, input: { projectId: project.id, bundleHash: bundle.hash, reason: 'Demo seed: first deployment' } });
  const failed = activation.afterCommit.filter((r) => r.status === 'failed');
  if (failed.length) throw new Error(`${plan.name}: deployed bundle ${bundle.hash.slice(0, 12)} but ${failed.map((f) => `${f.name}: ${f.message}`).join('; ')}`);
  const seconds = (performance.now() - started) / 1000;
  log(`${plan.name}: bundle ${bundle.hash.slice(0, 12)} promoted and deployed to production (${seconds.toFixed(1)} s)`);
  let firstRunId: string | null = null;
  if (plan.firstRun) {
    deps.signal?.throwIfAborted();
    const run = await startScenarioRun({
      ctx,
      projectId: project.id,
      scenario: plan.firstRun,
      trigger: { kind: 'manual', detail: { by: 'demo seed' }, firedAt: new Date().toISOString() },
    });
    firstRunId = run.runId;
    const ended = await waitForRun(ctx.db, run.runId, deps.buildTimeoutMs ?? 300_000, deps.signal);
    if (ended !== 'succeeded') throw new Error(`${plan.name}: the first ${plan.firstRun} run ${run.runId} ended ${ended}`);
    log(`${plan.name}: ${plan.firstRun} ran once in production (run ${run.runId})`);
  }
  return { projectId: project.id, notebookId: notebook.id, buildRunId: runId, bundleHash: bundle.hash, firstRunId, seconds: (performance.now() - started) / 1000 };
}

async function* toAsync(source: AsyncIterable<Buffer | string> | Iterable<Buffer>): AsyncGenerator<Buffer | string> {
  for await (const chunk of source) yield chunk;
}

async function waitForRun(db: Db, runId: string, timeoutMs: number, signal?: AbortSignal): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    const [run] = await db.select({ status: runs.status }).from(runs).where(eq(runs.id, runId));
    if (run && run.status !== 'queued' && run.status !== 'running') return run.status;
    if (Date.now() > deadline) throw new Error(`run ${runId} did not finish within ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
