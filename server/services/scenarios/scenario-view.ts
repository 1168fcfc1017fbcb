import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { runs, scenarioRunSteps, scenarios, type RunStatus, type ScenarioStepStatus } from '@/db/schema';
import type { ScenarioSpec, ScenarioTrigger } from '@/server/pipeline';
import { scenarioStepSummary } from '@/server/pipeline/scenario-cell';
import type { ScenarioReport, ScenarioTriggerInfo } from '@/workflows/shared/scenario';
import { scenarioRunWorkflowId } from '@/workflows/shared/scenario';
import type { ServiceCtx } from '../context';
import { notFound } from '../errors';
import type { ScenarioRunStored } from './run-state';
import { reportLine } from './reporters';
import type { ListScenarioRunsInput, ListScenariosInput, ScenarioRunRef } from './schemas';
import type { z } from 'zod';

export type ScenarioRunSummary = {
  runId: string;
  projectId: string;
  scenario: string;
  workflowId: string;
  status: RunStatus;
  trigger: ScenarioTriggerInfo;
  bundleHash: string | null;
  error: string | null;
  createdBy: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
};

export type ScenarioRunStepView = {
  index: number;
  type: string;
  name: string;
  status: ScenarioStepStatus;
  attempt: number;
  log: string[];
  output: Record<string, unknown> | null;
  error: string | null;
  /** build: its build run (builds.get); run_scenario: the child scenario run (scenarios.getRun). */
  childRunId: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
};

/** What a reporter did (`runs.result.reports`), for the run page's log: `line` reads "reported to ops (delivered)". */
export type ScenarioRunReportView = { channel: string; event: string; status: 'delivered' | 'failed' | 'refused'; deliveryId: string | null; line: string };

export type ScenarioRunView = ScenarioRunSummary & { steps: ScenarioRunStepView[]; reports: ScenarioRunReportView[] };

export type ScenarioView = {
  name: string;
  description: string | null;
  cellId: string;
  bundleHash: string;
  enabled: boolean;
  overlap: 'skip' | 'queue_one';
  triggers: ScenarioTrigger[];
  /** `does`: what the step does in words, whatever its name ("checks credit_clean"). */
  steps: { index: number; type: string; name: string | null; does: string; when: string; retries: number }[];
  updatedAt: string;
  lastRun: ScenarioRunSummary | null;
};

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function summary(r: typeof runs.$inferSelect): ScenarioRunSummary {
  const stored = r.input as ScenarioRunStored;
  return {
    runId: r.id,
    projectId: r.projectId,
    scenario: stored.scenario,
    workflowId: r.workflowId,
    status: r.status,
    trigger: stored.trigger,
    bundleHash: r.bundleHash,
    error: r.error,
    createdBy: r.createdBy,
    createdAt: r.createdAt.toISOString(),
    startedAt: iso(r.startedAt),
    finishedAt: iso(r.finishedAt),
  };
}

async function runsOf(db: DbOrTx, projectId: string, scenario: string | undefined, limit: number) {
  return db
    .select()
    .from(runs)
    .where(and(eq(runs.projectId, projectId), eq(runs.kind, 'scenario'), scenario ? sql`${runs.input}->>'scenario' = ${scenario}` : undefined))
    .orderBy(desc(runs.createdAt))
    .limit(limit);
}

/** The scenarios production runs now (the active bundle's), by name, each with its newest run. */
export async function listScenarios({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof ListScenariosInput> }): Promise<ScenarioView[]> {
  const rows = await ctx.db.select().from(scenarios).where(eq(scenarios.projectId, input.projectId)).orderBy(asc(scenarios.name));
  const out: ScenarioView[] = [];
  for (const s of rows) {
    const spec = s.spec as ScenarioSpec;
    const [last] = await runsOf(ctx.db, input.projectId, s.name, 1);
    out.push({
      name: s.name,
      description: spec.description ?? null,
      cellId: s.cellId,
      bundleHash: s.bundleHash,
      enabled: s.enabled,
      overlap: spec.overlap,
      triggers: spec.triggers,
      steps: spec.steps.map((st, index) => ({ index, type: st.type, name: st.name ?? null, does: scenarioStepSummary(st), when: st.when, retries: st.retries })),
      updatedAt: s.updatedAt.toISOString(),
      lastRun: last ? summary(last) : null,
    });
  }
  return out;
}

/** Runs of the project's scenarios (or one scenario), newest first; skipped ones included. */
export async function listScenarioRuns({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof ListScenarioRunsInput> }): Promise<ScenarioRunSummary[]> {
  return (await runsOf(ctx.db, input.projectId, input.scenario, input.limit)).map(summary);
}

export async function findScenarioRun(db: DbOrTx, projectId: string, runId: string) {
  const [run] = await db
    .select()
    .from(runs)
    .where(and(eq(runs.id, runId), eq(runs.projectId, projectId), inArray(runs.kind, ['scenario'])));
  if (!run) throw notFound('scenario run');
  return run;
}

/** A run with its steps in order, as they are now (poll about once a second while queued or running). */
export async function getScenarioRun({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof ScenarioRunRef> }): Promise<ScenarioRunView> {
  const run = await findScenarioRun(ctx.db, input.projectId, input.runId);
  const steps = await ctx.db.select().from(scenarioRunSteps).where(eq(scenarioRunSteps.runId, run.id)).orderBy(asc(scenarioRunSteps.index));
  const now = Date.now();
  return {
    ...summary(run),
    steps: steps.map((s) => ({
      index: s.index,
      type: s.type,
      name: s.name,
      status: s.status,
      attempt: s.attempt,
      log: s.log,
      output: s.output ?? null,
      error: s.error,
      childRunId: s.childRunId,
      startedAt: iso(s.startedAt),
      finishedAt: iso(s.finishedAt),
      durationMs: s.startedAt ? (s.finishedAt?.getTime() ?? now) - s.startedAt.getTime() : null,
    })),
    reports: ((run.result?.reports as ScenarioReport[] | undefined) ?? []).map((r) => ({ channel: r.channel, event: r.event, status: r.status, deliveryId: r.deliveryId, line: r.line ?? reportLine(r) })),
  };
}

export { scenarioRunWorkflowId };
