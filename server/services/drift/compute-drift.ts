import { isPositiveLabel } from '@/server/domain/boolean-words';
import { and, desc, eq, gte, lt } from 'drizzle-orm';
import type { z } from 'zod';
import { driftReports, models, modelVersions, predictionLog } from '@/db/schema';
import { featureDrift, predictionDrift, type FeatureDrift } from '@/server/ml/drift-reference';
import { rocAuc } from '@/server/ml/metrics';
import { FeatureSchema } from '@/server/ml/onnx/feature-schema';
import { emitAudit } from '../audit/emit';
import { actorLabel, auditMetaOf, type ServiceCtx } from '../context';
import { findDataset } from '../datasets/find-dataset';
import { findEndpoint, teamOfProject } from '../endpoints/find-endpoint';
import { invalid, preconditionFailed } from '../errors';
import { readDatasetTable } from '../models/read-dataset';
import { scoringRuntime } from '../scoring/runtime';
import { referenceOf } from './reference-of';
import type { ComputeDriftInput, DriftLabels } from './schemas';
import { driftReportView, type DriftReportView } from './view';

/** The newest logged records of a window compared at most (a uniform sample would cost a sort of them all). */
export const MAX_DRIFT_ROWS = 50_000;

/**
 * Compares an endpoint's recent predictions with the reference of the version it serves now:
 * per feature the PSI over the reference's bins and a test (KS for numbers, chi-square for
 * categories), the PSI of the predicted probabilities, and, with `labels`, the AUC of the logged
 * predictions whose record `key` field matches a labelled row. Only rows that version answered
 * count: not its shadow rows (when it was some other version's shadow). This process's buffered log is written first, so a Compute now sees the latest requests.
 * The report is stored (drift_reports; audited `endpoint.drift_compute`) for the endpoint page's charts.
 */
export async function computeDrift({ ctx, input, now = new Date() }: { ctx: ServiceCtx; input: z.output<typeof ComputeDriftInput>; now?: Date }): Promise<DriftReportView> {
  const meta = auditMetaOf(ctx);
  const endpoint = await findEndpoint(ctx.db, input);
  const [model] = await ctx.db.select().from(models).where(eq(models.id, endpoint.modelId));
  const versionId = endpoint.pinnedVersionId ?? model?.championVersionId ?? null;
  const [version] = versionId ? await ctx.db.select().from(modelVersions).where(eq(modelVersions.id, versionId)) : [];
  if (!model || !version) throw preconditionFailed(`endpoint "${endpoint.name}" serves no model version`);
  const ref = await referenceOf(ctx, input.projectId, version);
  if (!ref.reference) throw preconditionFailed(`drift is unavailable for ${model.name} v${version.version}: ${ref.reason}`);
  const reference = ref.reference;

  const window = 'last' in input.window ? { since: new Date(now.getTime() - input.window.last), until: now } : { since: new Date(input.window.since), until: new Date(input.window.until) };
  await scoringRuntime(ctx.db).predictionLog.flush();
  const rows = await ctx.db
    .select({ record: predictionLog.record, probability: predictionLog.probability })
    .from(predictionLog)
    .where(and(eq(predictionLog.endpointId, endpoint.id), eq(predictionLog.modelVersionId, version.id), eq(predictionLog.shadow, false), gte(predictionLog.loggedAt, window.since), lt(predictionLog.loggedAt, window.until)))
    .orderBy(desc(predictionLog.loggedAt))
    .limit(MAX_DRIFT_ROWS);
  if (rows.length === 0) {
    throw preconditionFailed(`no predictions of ${model.name} v${version.version} were logged by endpoint "${endpoint.name}" between ${window.since.toISOString()} and ${window.until.toISOString()}`);
  }

  const features: FeatureDrift[] = reference.features.map((f) => featureDrift(f, rows.map((r) => (r.record as Record<string, unknown> | null)?.[f.name])));
  const predictionPsi = reference.prediction ? predictionDrift(reference.prediction, rows.map((r) => r.probability)) : null;
  const maxPsi = Math.max(...features.map((f) => f.psi), predictionPsi ?? 0);
  const performance = input.labels ? await labelledAuc(ctx, input.projectId, input.labels, FeatureSchema.parse(version.featureSchema), rows) : null;

  return ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(driftReports)
      .values({
        endpointId: endpoint.id,
        modelVersionId: version.id,
        windowStart: window.since,
        windowEnd: window.until,
        computedAt: now,
        rows: rows.length,
        features,
        maxPsi,
        predictionPsi,
        auc: performance?.auc ?? null,
        labelledRows: performance?.rows ?? null,
        computedBy: actorLabel(meta.actor).actorLabel,
      })
      .returning();
    if (!row) throw new Error('drift report insert returned no row');
    await emitAudit(tx, meta, {
      action: 'endpoint.drift_compute',
      target: { type: 'endpoint', id: endpoint.id },
      teamId: await teamOfProject(tx, input.projectId),
      projectId: input.projectId,
      details: { endpoint: endpoint.name, model: model.name, version: version.version, rows: rows.length, maxPsi, predictionPsi, auc: row.auc, reference: ref.source },
    });
    return driftReportView(row, version.version);
  });
}

/** AUC of the logged probabilities against the labels joined on the key; null when one class is missing. */
async function labelledAuc(
  ctx: ServiceCtx,
  projectId: string,
  labels: DriftLabels,
  schema: FeatureSchema,
  rows: { record: unknown; probability: number }[],
): Promise<{ auc: number | null; rows: number }> {
  const labelOf = await readLabels(ctx, projectId, labels);
  const positive = schema.classes[schema.positiveIndex];
  const y: number[] = [];
  const p: number[] = [];
  for (const r of rows) {
    const label = labelOfRecord(labelOf, labels.key, r.record);
    if (label === undefined || Number.isNaN(r.probability)) continue;
    y.push(positive !== undefined && isPositiveLabel(label, positive) ? 1 : 0);
    p.push(r.probability);
  }
  return { auc: aucOrNull(y, p), rows: y.length };
}

/** The labels dataset as a map from the key column's value (as text) to the label (as text). */
export async function readLabels(ctx: ServiceCtx, projectId: string, labels: DriftLabels): Promise<Map<string, string>> {
  const dataset = await findDataset(ctx.db, {
    projectId,
    environment: labels.environment,
    name: labels.dataset,
  });
  const cols = [labels.key, labels.label].map((name) => {
    const c = dataset.columns.find((x) => x.name === name);
    if (!c) throw invalid(`labels dataset "${labels.dataset}" has no column "${name}" (columns: ${dataset.columns.map((x) => x.name).join(', ')})`, 'labels');
    return c;
  });
  const table = await readDatasetTable(ctx.db, { projectId, environment: labels.environment, table: labels.dataset }, cols);
  const keys = table.columns[labels.key]!;
  const values = table.columns[labels.label]!;
  const labelOf = new Map<string, string>();
  keys.forEach((k, i) => {
    const v = values[i];
    if (k !== null && v !== null && v !== undefined) labelOf.set(String(k), String(v));
  });
  return labelOf;
}

/** The label of a logged record (by its `key` field), if the labels have it. */
export function labelOfRecord(labelOf: Map<string, string>, key: string, record: unknown): string | undefined {
  const k = (record as Record<string, unknown> | null)?.[key];
  return k === undefined || k === null ? undefined : labelOf.get(String(k));
}

/** ROC AUC, or null when one class is missing. */
export function aucOrNull(y: number[], p: number[]): number | null {
  const positives = y.reduce((s, v) => s + v, 0);
  return positives > 0 && positives < y.length ? rocAuc(y, p) : null;
}
