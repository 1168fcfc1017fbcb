import { and, desc, eq, gte, inArray, isNotNull, lt } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { z } from 'zod';
import { modelVersions, predictionLog } from '@/db/schema';
import { FeatureSchema } from '@/server/ml/onnx/feature-schema';
import type { ServiceCtx } from '../context';
import { isPositiveLabel } from '@/server/domain/boolean-words';
import { aucOrNull, labelOfRecord, readLabels } from '../drift/compute-drift';
import type { DriftLabels } from '../drift/schemas';
import { scoringRuntime } from '../scoring/runtime';
import { findEndpoint } from './find-endpoint';
import { shadowWindows, type ShadowComparisonInput } from './schemas';

/** The newest pairs of a window compared at most. */
export const MAX_SHADOW_PAIRS = 50_000;

export type ShadowComparison = {
  /** The shadow version compared (the endpoint's current one); null when none is set. */
  shadowVersion: number | null;
  /** The versions that answered the compared requests (one, unless the served version changed in the window). */
  servedVersions: number[];
  since: string;
  until: string;
  /** Served/shadow pairs compared. */
  rows: number;
  /** Share of pairs whose labels agree; null without pairs. */
  agreement: number | null;
  /** Mean and 95th percentile of |p(served) - p(shadow)| for the positive class; null without pairs. */
  meanAbsDiff: number | null;
  p95AbsDiff: number | null;
  /** With labels: both AUCs on the pairs whose record has a label; null without labels. */
  labelled: LabelledShadowComparison | null;
};

/**
 * How the endpoint's shadow version would have answered, next to what it answered: over the
 * served/shadow row pairs logged in the window (joined on their pair id), the label agreement and
 * the absolute differences of the positive-class probability. This process's pending shadow
 * scorings and buffered log are written first, so the latest requests count.
 */
export async function shadowComparison({ ctx, input, now = new Date() }: { ctx: ServiceCtx; input: z.output<typeof ShadowComparisonInput>; now?: Date }): Promise<ShadowComparison> {
  const endpoint = await findEndpoint(ctx.db, input);
  const since = new Date(now.getTime() - shadowWindows[input.window.last]);
  if (!endpoint.shadowVersionId) return { shadowVersion: null, ...emptyComparison(since, now) };
  const [shadowVersion] = await ctx.db.select({ version: modelVersions.version }).from(modelVersions).where(eq(modelVersions.id, endpoint.shadowVersionId));
  if (!shadowVersion) return { shadowVersion: null, ...emptyComparison(since, now) };
  let labels: Parameters<typeof compareShadowPairs>[1]['labels'];
  if (input.labels) {
    const [v] = await ctx.db.select({ featureSchema: modelVersions.featureSchema }).from(modelVersions).where(eq(modelVersions.id, endpoint.shadowVersionId));
    const schema = FeatureSchema.parse(v!.featureSchema);
    labels = { projectId: input.projectId, spec: input.labels, positive: schema.classes[schema.positiveIndex]! };
  }
  const compared = await compareShadowPairs(ctx, { endpointIds: [endpoint.id], shadowVersionId: endpoint.shadowVersionId, since, until: now, ...(labels ? { labels } : {}) });
  return { shadowVersion: shadowVersion.version, ...compared };
}

const emptyComparison = (since: Date, until: Date) => ({
  servedVersions: [],
  since: since.toISOString(),
  until: until.toISOString(),
  rows: 0,
  agreement: null,
  meanAbsDiff: null,
  p95AbsDiff: null,
  labelled: null,
});

/** With labels: the AUC of the served and of the shadow probabilities on the pairs whose record has a label. */
export type LabelledShadowComparison = {
  rows: number;
  servedAuc: number | null;
  shadowAuc: number | null;
};

/** Both AUCs on the pairs whose record has a label (and finite probabilities from both models). */
function labelledComparison(
  pairs: { probability: number; shadowProbability: number; record?: unknown }[],
  labels: { spec: DriftLabels; positive: string },
  labelOf: NonNullable<Awaited<ReturnType<typeof readLabels>>>,
): LabelledShadowComparison {
  const y: number[] = [];
  const pServed: number[] = [];
  const pShadow: number[] = [];
  for (const p of pairs) {
    const label = labelOfRecord(labelOf, labels.spec.key, p.record);
    if (label === undefined || !Number.isFinite(p.probability) || !Number.isFinite(p.shadowProbability)) continue;
    y.push(isPositiveLabel(label, labels.positive) ? 1 : 0);
    pServed.push(p.probability);
    pShadow.push(p.shadowProbability);
  }
  return { rows: y.length, servedAuc: aucOrNull(y, pServed), shadowAuc: aucOrNull(y, pShadow) };
}

/**
 * The served/shadow pairs of these endpoints logged in [since, until) where the shadow was
 * `shadowVersionId`, compared (see shadowComparison); with `labels`, also their AUCs on the labelled
 * records (joined on the record's `labels.key` field, the label compared with `positive`).
 */
export async function compareShadowPairs(
  ctx: ServiceCtx,
  q: {
    endpointIds: string[];
    shadowVersionId: string;
    since: Date;
    until: Date;
    labels?: { projectId: string; spec: DriftLabels; positive: string };
  },
): Promise<
  Omit<ShadowComparison, 'shadowVersion'> & {
    labelled: LabelledShadowComparison | null;
  }
> {
  const empty = {
    ...emptyComparison(q.since, q.until),
    labelled: q.labels ? { rows: 0, servedAuc: null, shadowAuc: null } : null,
  };
  if (q.endpointIds.length === 0) return empty;
  const runtime = scoringRuntime(ctx.db);
  await runtime.shadow.settled();
  await runtime.predictionLog.flush();
  const served = predictionLog;
  const shadow = alias(predictionLog, 'shadow_log');
  const pairs = await ctx.db
    .select({
      versionId: served.modelVersionId,
      label: served.label,
      probability: served.probability,
      shadowLabel: shadow.label,
      shadowProbability: shadow.probability,
      ...(q.labels ? { record: served.record } : {}),
    })
    .from(served)
    // A shadow row is logged after its served row, never before.
    .innerJoin(shadow, and(eq(shadow.endpointId, served.endpointId), eq(shadow.pairId, served.pairId), eq(shadow.shadow, true), gte(shadow.loggedAt, q.since)))
    .where(
      and(
        inArray(served.endpointId, q.endpointIds),
        eq(served.shadow, false),
        isNotNull(served.pairId),
        gte(served.loggedAt, q.since),
        lt(served.loggedAt, q.until),
        eq(shadow.modelVersionId, q.shadowVersionId),
      ),
    )
    .orderBy(desc(served.loggedAt))
    .limit(MAX_SHADOW_PAIRS);
  // Read first: a labels dataset that is missing or lacks a column is an error even before any traffic.
  const labelOf = q.labels ? await readLabels(ctx, q.labels.projectId, q.labels.spec) : null;
  if (pairs.length === 0) return empty;

  const servedIds = [...new Set(pairs.map((p) => p.versionId))];
  const versions = await ctx.db.select({ version: modelVersions.version }).from(modelVersions).where(inArray(modelVersions.id, servedIds));
  const agreeing = pairs.filter((p) => p.label === p.shadowLabel).length;
  const diffs = pairs
    .map((p) => Math.abs(p.probability - p.shadowProbability))
    .filter((d) => Number.isFinite(d))
    .sort((a, b) => a - b);
  const labelled = q.labels && labelOf ? labelledComparison(pairs, q.labels, labelOf) : null;
  return {
    servedVersions: versions.map((v) => v.version).sort((a, b) => a - b),
    since: empty.since,
    until: empty.until,
    rows: pairs.length,
    agreement: agreeing / pairs.length,
    meanAbsDiff: diffs.length ? diffs.reduce((s, d) => s + d, 0) / diffs.length : null,
    // Nearest rank.
    p95AbsDiff: diffs.length ? diffs[Math.ceil(0.95 * diffs.length) - 1]! : null,
    labelled,
  };
}
