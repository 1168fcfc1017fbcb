import { and, desc, eq, inArray } from 'drizzle-orm';
import { z } from 'zod';
import { auditEvents } from '@/db/schema';
import type { ServiceCtx } from '../context';
import { findModel } from './list-models';
import { ModelRef } from './schemas';

export const GateDecisionsInput = ModelRef.extend({
  limit: z.coerce.number({ error: 'limit must be a number' }).int().min(1).max(200).default(50),
});

/** One retrain gate's decision, as audited `model.gate_decision` by a scenario's retrain step. */
export type GateDecisionView = {
  seq: number;
  at: string;
  /** `shadowing`: the gate passed and the challenger is shadow-scoring live traffic; the decision comes when the period ends. */
  decision: 'promoted' | 'kept_champion' | 'shadowing';
  metric: string;
  comparator: string;
  minImprovement: number;
  minRows: number;
  holdoutRows: number;
  /** The rows both were judged on: the holdout rows the champion did not train on (older decisions: the whole holdout). */
  evaluatedRows: number;
  /** Holdout rows left out because the champion trained on them; null when its training rows were unknown. */
  championSeenRows: number | null;
  /** The challenger's shadow period on production endpoints before the swap, when the step had `shadow`. */
  shadow: { version: number; endpoints: string[]; since: string; until: string; pairs: number; agreement: number | null; meanAbsDiff: number | null; labelled: { rows: number; servedAuc: number | null; shadowAuc: number | null } | null } | null;
  champion: { version: number; value: number | null };
  challenger: { version: number | null; value: number | null };
  reason: string;
  data: { dataset: string; environment: string; fingerprint: string; rows: number } | null;
  endpoints: string[];
  scenarioRunId: string | null;
};

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * The audit log is the record of gate decisions (they outlive runs and versions); read back by the
 * model's id, so a model deleted and re-created under the same name starts a new history.
 */
export async function listGateDecisions({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof GateDecisionsInput> }): Promise<GateDecisionView[]> {
  const model = await findModel(ctx.db, input);
  const events = await ctx.db
    .select()
    .from(auditEvents)
    .where(
      and(
        eq(auditEvents.projectId, input.projectId),
        inArray(auditEvents.action, ['model.gate_decision', 'model.shadow_start']),
        eq(auditEvents.targetType, 'model'),
        eq(auditEvents.targetId, model.id),
      ),
    )
    .orderBy(desc(auditEvents.seq))
    .limit(input.limit * 2);
  // A shadow period shows until its run's decision is recorded (newest first: the decision comes before its start).
  const decided = new Set<unknown>();
  const rows = events
    .filter((r) => {
      const run = (r.details as { scenarioRunId?: unknown } | null)?.scenarioRunId;
      if (r.action === 'model.shadow_start') return !decided.has(run);
      decided.add(run);
      return true;
    })
    .slice(0, input.limit);
  return rows.map(decisionView);
}

/** A decision (`model.gate_decision`), or a shadow period under way (`model.shadow_start`) shown as a pending one. */
function decisionView(r: typeof auditEvents.$inferSelect): GateDecisionView {
  const d = (r.details ?? {}) as Record<string, unknown>;
  const champion = (d.champion ?? {}) as Record<string, unknown>;
  const challenger = (d.challenger ?? {}) as Record<string, unknown>;
  const at = new Date(r.at).toISOString();
  const shadowing = r.action === 'model.shadow_start';
  return {
    seq: r.seq,
    at,
    decision: shadowing ? 'shadowing' : d.decision === 'promoted' ? 'promoted' : 'kept_champion',
    metric: String(d.metric ?? 'auc'),
    comparator: String(d.comparator ?? '>='),
    minImprovement: num(d.minImprovement) ?? 0,
    minRows: num(d.minRows) ?? 0,
    holdoutRows: num(d.holdoutRows) ?? 0,
    evaluatedRows: num(d.evaluatedRows) ?? num(d.holdoutRows) ?? 0,
    championSeenRows: num(d.championSeenRows),
    shadow: shadowing
      ? { version: num(challenger.version) ?? 0, endpoints: Array.isArray(d.endpoints) ? d.endpoints.map(String) : [], since: at, until: String(d.until ?? ''), pairs: 0, agreement: null, meanAbsDiff: null, labelled: null }
      : shadowOf(d.shadow),
    champion: { version: num(champion.version) ?? 0, value: num(champion.value) },
    challenger: { version: num(challenger.version), value: num(challenger.value) },
    reason: String(d.reason ?? ''),
    data: (d.data as GateDecisionView['data'] | undefined) ?? null,
    // A shadow period has repointed nothing yet.
    endpoints: !shadowing && Array.isArray(d.endpoints) ? d.endpoints.map(String) : [],
    scenarioRunId: typeof d.scenarioRunId === 'string' ? d.scenarioRunId : null,
  };
}

function shadowOf(v: unknown): GateDecisionView['shadow'] {
  if (!v || typeof v !== 'object') return null;
  const s = v as Record<string, unknown>;
  const l = s.labelled as Record<string, unknown> | null | undefined;
  return {
    version: num(s.version) ?? 0,
    endpoints: Array.isArray(s.endpoints) ? s.endpoints.map((e) => String((e as { name?: unknown }).name ?? e)) : [],
    since: String(s.since ?? ''),
    until: String(s.until ?? ''),
    pairs: num(s.pairs) ?? 0,
    agreement: num(s.agreement),
    meanAbsDiff: num(s.meanAbsDiff),
    labelled: l ? { rows: num(l.rows) ?? 0, servedAuc: num(l.servedAuc), shadowAuc: num(l.shadowAuc) } : null,
  };
}
