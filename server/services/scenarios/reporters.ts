import { and, asc, eq, sql } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { runs, scenarioRunSteps, type NotificationEvent } from '@/db/schema';
import type { ScenarioReporter } from '@/server/pipeline';
import type { ScenarioReport, ScenarioReportOccasion, ScenarioReportQueued } from '@/workflows/shared/scenario';
import type { ServiceCtx } from '../context';
import { ServiceError } from '../errors';
import { enqueueNotification } from '../notifications/enqueue-notification';
import { linkTo, notificationSettings } from '../notifications/settings';
import type { ScenarioRunStored } from './run-state';
import { runIdFor } from './start-scenario-run';

/**
 * One delivery per (run, reporter, event, step): derived, not random, so a retried activity or a
 * replayed workflow finds the row it already wrote and the receiver is told once.
 */
export function reportDeliveryId(runId: string, reporter: number, event: NotificationEvent, stepIndex?: number): string {
  return runIdFor(`report:${runId}:${reporter}:${event}${stepIndex === undefined ? '' : `:${stepIndex}`}`);
}

type Report = { event: NotificationEvent; occasion: ScenarioReporter['on'][number]; stepIndex?: number; message: string; data: Record<string, unknown> };

/**
 * The pending deliveries of the reporters whose `on` matches the occasion: when the run finished
 * (`failure` / `success`; a cancelled run is neither, like for after_scenario) or a retrain step
 * recorded its gate decision. A reporter whose channel does not exist (or is refused) is returned
 * as `refused`, to be recorded on the run: reporting never fails the run.
 */
export async function enqueueScenarioReports(ctx: ServiceCtx, runId: string, occasion: ScenarioReportOccasion): Promise<{ queued: ScenarioReportQueued[]; refused: ScenarioReport[] }> {
  const [run] = await ctx.db.select().from(runs).where(and(eq(runs.id, runId), eq(runs.kind, 'scenario')));
  const stored = run?.input as ScenarioRunStored | undefined;
  const reporters = stored?.spec?.reporters ?? [];
  if (!run || !stored || reporters.length === 0) return { queued: [], refused: [] };
  const report = await reportOf(ctx.db, run, stored, occasion);
  if (!report) return { queued: [], refused: [] };

  const queued: ScenarioReportQueued[] = [];
  const refused: ScenarioReport[] = [];
  for (const [reporter, r] of reporters.entries()) {
    if (!r.on.includes(report.occasion)) continue;
    const deliveryId = reportDeliveryId(runId, reporter, report.event, report.stepIndex);
    const key = { reporter, channel: r.channel, event: report.event, ...(report.stepIndex === undefined ? {} : { stepIndex: report.stepIndex }) };
    try {
      await enqueueNotification({ ctx, projectId: run.projectId, channel: r.channel, event: report.event, payload: { message: r.message ?? report.message, ...report.data }, runId, deliveryId });
      queued.push({ ...key, deliveryId });
    } catch (err) {
      // The user's mistake (no such channel): recorded on the run. Anything else is transient: the activity retries.
      if (!(err instanceof ServiceError && (err.kind === 'NotFound' || err.kind === 'Invalid' || err.kind === 'PreconditionFailed'))) throw err;
      refused.push({ ...key, deliveryId: null, status: 'refused', error: `reporter ${r.channel}: ${err.message}` });
    }
  }
  return { queued, refused };
}

async function reportOf(db: Db, run: typeof runs.$inferSelect, stored: ScenarioRunStored, occasion: ScenarioReportOccasion): Promise<Report | null> {
  const runUrl = linkTo(notificationSettings(), `/projects/${run.projectId}/runs/${run.id}`);
  const common = { scenario: stored.scenario, runId: run.id, runUrl };
  if (occasion.kind === 'finished') {
    if (run.status !== 'succeeded' && run.status !== 'failed') return null;
    const failed = run.status === 'failed';
    const steps = await db.select().from(scenarioRunSteps).where(eq(scenarioRunSteps.runId, run.id)).orderBy(asc(scenarioRunSteps.index));
    const first = steps.find((s) => s.status === 'failed' || s.status === 'cancelled');
    return {
      event: failed ? 'scenario.failed' : 'scenario.succeeded',
      occasion: failed ? 'failure' : 'success',
      message: failed ? `scenario "${stored.scenario}" failed${first ? ` at step ${first.index + 1} (${first.name})` : ''}` : `scenario "${stored.scenario}" succeeded`,
      data: {
        ...common,
        status: run.status,
        trigger: stored.trigger.kind,
        bundleHash: run.bundleHash,
        ...(failed && first ? { failedStep: { index: first.index, name: first.name } } : {}),
        ...(failed && run.error ? { error: run.error } : {}),
      },
    };
  }
  const [step] = await db.select().from(scenarioRunSteps).where(and(eq(scenarioRunSteps.runId, run.id), eq(scenarioRunSteps.index, occasion.stepIndex)));
  const out = step?.type === 'retrain' && step.status === 'succeeded' ? (step.output as GateOutput | null) : null;
  if (!out?.decision) return null;
  return {
    event: 'gate.decision',
    occasion: 'gate_decision',
    stepIndex: occasion.stepIndex,
    message: `${out.model}: ${out.decision === 'promoted' ? 'challenger promoted' : 'champion kept'} (${out.metric})`,
    data: { ...common, model: out.model, decision: out.decision, metric: out.metric, champion: out.champion, challenger: out.challenger, reason: out.reason },
  };
}

type GateOutput = { model: string; decision: 'promoted' | 'kept_champion'; metric: string; champion: unknown; challenger: unknown; reason: string };

/**
 * Records what the reporters did on the run (`runs.result.reports`), one entry per delivery,
 * replacing an earlier record of the same one: a replayed record does not duplicate lines.
 */
export async function recordScenarioReports(db: Db, runId: string, reports: ScenarioReport[]): Promise<void> {
  if (reports.length === 0) return;
  await db.transaction(async (tx) => {
    const [run] = await tx.select({ result: runs.result }).from(runs).where(eq(runs.id, runId)).for('update');
    if (!run) return;
    const keyOf = (r: ScenarioReport) => `${r.reporter}:${r.event}:${r.stepIndex ?? ''}`;
    const merged = new Map(((run.result?.reports as ScenarioReport[] | undefined) ?? []).map((r) => [keyOf(r), r]));
    for (const r of reports) merged.set(keyOf(r), { ...r, line: reportLine(r) });
    await tx
      .update(runs)
      .set({ result: sql`coalesce(${runs.result}, '{}'::jsonb) || ${JSON.stringify({ reports: [...merged.values()] })}::jsonb` })
      .where(eq(runs.id, runId));
  });
}

/** What the run page's log says, e.g. `reported to ops (delivered)`. */
export function reportLine(r: ScenarioReport): string {
  const what = r.event === 'gate.decision' ? ` the gate decision of step ${(r.stepIndex ?? 0) + 1}` : '';
  return `reported${what} to ${r.channel} (${r.status}${r.error ? `: ${r.error}` : ''})`;
}
