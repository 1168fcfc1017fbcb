import { and, eq, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { scenarios } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import type { AfterCommitOutcome } from '../deployments/reconciler-types';
import { teamOfProject } from '../endpoints/find-endpoint';
import { notFound } from '../errors';
import type { SetScenarioEnabledInput } from './schemas';
import { syncProjectTriggers } from './triggers/after-activation';

export type ScenarioEnabledResult = {
  scenario: string;
  enabled: boolean;
  /** False when it already was so (nothing audited). */
  changed: boolean;
  /** The Temporal side: Schedules paused or resumed, watchers stopped or started. */
  triggers: { status: AfterCommitOutcome['status'] | 'failed'; message: string };
};

/**
 * Disables (or enables again) a deployed scenario without a new bundle. In one transaction the flag
 * is set and `scenario.disable` / `scenario.enable` audited; from then on the run engine refuses
 * its runs (recorded `skipped`) whatever starts them. After commit its Temporal Schedules are paused
 * (resumed) and its dataset watchers stopped (started), so a disabled scenario does not even fire.
 * If Temporal cannot be reached the answer says so; the flag stands and repeating the call (or a
 * deploy) syncs again. The flag survives deploys of bundles that keep the scenario.
 */
export async function setScenarioEnabled({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof SetScenarioEnabledInput> }): Promise<ScenarioEnabledResult> {
  const meta = auditMetaOf(ctx);
  const changed = await ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(scenarios)
      .where(and(eq(scenarios.projectId, input.projectId), eq(scenarios.name, input.scenario)))
      .for('update');
    if (!row) throw notFound(`deployed scenario "${input.scenario}"`);
    if (row.enabled === input.enabled) return false;
    await tx.update(scenarios).set({ enabled: input.enabled, updatedAt: sql`now()` }).where(eq(scenarios.id, row.id));
    await emitAudit(tx, meta, {
      action: input.enabled ? 'scenario.enable' : 'scenario.disable',
      // By name: scenario rows are replaced by deploys, the name is what stays.
      target: { type: 'scenario', id: input.scenario },
      teamId: await teamOfProject(tx, input.projectId),
      projectId: input.projectId,
      details: { scenario: input.scenario, bundleHash: row.bundleHash, ...(input.reason ? { reason: input.reason } : {}) },
    });
    return true;
  });
  let triggers: ScenarioEnabledResult['triggers'];
  try {
    const outcome = await syncProjectTriggers(ctx, input.projectId);
    triggers = { status: outcome.status, message: outcome.message ?? '' };
  } catch (err) {
    const state = input.enabled ? 'enabled' : `disabled (its runs are refused)`;
    triggers = { status: 'failed', message: `${err instanceof Error ? err.message : String(err)}; the scenario is ${state}: try again to sync its triggers` };
  }
  return { scenario: input.scenario, enabled: input.enabled, changed, triggers };
}
