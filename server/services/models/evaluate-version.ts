import { desc, eq, inArray } from 'drizzle-orm';
import type { z } from 'zod';
import { modelEvaluations, modelVersions, projects } from '@/db/schema';
import { aucWithInterval, calibrationCurve, logLoss, rocCurve, thresholdMetrics } from '@/server/ml/metrics';
import { FeatureSchema } from '@/server/ml/onnx/feature-schema';
import { MISSING_TARGET, targetVector } from '@/server/ml/table';
import { MlInputError } from '@/server/ml/errors';
import { RecordInputError, predict } from '@/server/scoring/session-cache';
import { emitAudit } from '../audit/emit';
import { actorLabel, auditMetaOf, type ServiceCtx } from '../context';
import { findDataset } from '../datasets/find-dataset';
import { invalid } from '../errors';
import { scoringRuntime } from '../scoring/runtime';
import { readArtifact } from './artifacts';
import { findModel, findModelVersion } from './list-models';
import { readDatasetTable } from './read-dataset';
import type { EvaluateVersionInput, ListEvaluationsInput } from './schemas';

const BATCH = 10_000;
/** The confusion matrix of a stored evaluation is at this threshold (the page's slider moves it). */
const THRESHOLD = 0.5;

export type StoredEvaluation = {
  id: string;
  version: number;
  dataset: string;
  environment: 'design' | 'production';
  fingerprint: string;
  rows: number;
  metrics: Record<string, unknown>;
  createdBy: string;
  createdAt: string;
};

/**
 * Scores a dataset's labelled rows with one version (its ONNX file, as endpoints serve it) and
 * evaluates: AUC with its DeLong interval, log loss, ROC, calibration and the confusion matrix at
 * 0.5. Stored and audited (`model.evaluate`). The dataset must hold the version's features and
 * its target; a missing column or a value the model cannot take is a 400 naming it.
 */
export async function evaluateModelVersion({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof EvaluateVersionInput> }): Promise<StoredEvaluation> {
  const meta = auditMetaOf(ctx);
  const model = await findModel(ctx.db, { projectId: input.projectId, name: input.name });
  const v = await findModelVersion(ctx.db, model.id, model.name, input.version);
  const schema = FeatureSchema.parse(v.featureSchema);
  if (!schema.target) throw invalid(`version ${v.version} of "${model.name}" does not name its target column, so it cannot be evaluated on a dataset`, 'version');
  const dataset = await findDataset(ctx.db, { projectId: input.projectId, environment: input.environment, name: input.dataset });
  const byName = new Map(dataset.columns.map((c) => [c.name, c]));
  const needed = [schema.target, ...schema.inputs.map((i) => i.name)];
  const missing = needed.filter((n) => !byName.has(n));
  if (missing.length) throw invalid(`dataset "${dataset.name}" has no column ${missing.map((m) => `"${m}"`).join(', ')}, which version ${v.version} needs`, 'dataset');
  const table = await readDatasetTable(ctx.db, { projectId: input.projectId, environment: input.environment, table: dataset.name }, needed.map((n) => byName.get(n)!));

  let y: Uint8Array;
  try {
    y = targetVector(table, schema.target, schema.classes[schema.positiveIndex]).y;
  } catch (err) {
    if (err instanceof MlInputError) throw invalid(`dataset "${dataset.name}": ${err.message}`, 'dataset');
    throw err;
  }
  const labelled = Array.from({ length: y.length }, (_, i) => i).filter((i) => y[i] !== MISSING_TARGET);
  const session = await scoringRuntime(ctx.db).sessions.get(v.artifactSha256, () => readArtifact(ctx.db, v.artifactSha256));
  const p = new Float64Array(labelled.length);
  for (let start = 0; start < labelled.length; start += BATCH) {
    const rows = labelled.slice(start, start + BATCH);
    const records = rows.map((r) => Object.fromEntries(schema.inputs.map((f) => [f.name, table.columns[f.name]![r] ?? null])));
    try {
      (await predict(session, schema, records)).forEach((s, k) => (p[start + k] = s.probabilities.pos));
    } catch (err) {
      if (err instanceof RecordInputError) throw invalid(`dataset "${dataset.name}", labelled row ${rows[err.issues[0]!.record]! + 1}: ${err.issues[0]!.field}: ${err.issues[0]!.message}`, 'dataset');
      throw err;
    }
  }
  const yl = Uint8Array.from(labelled, (r) => y[r]!);
  const positives = yl.reduce((a, b) => a + b, 0);
  if (positives === 0 || positives === yl.length) throw invalid(`dataset "${dataset.name}" has ${positives === 0 ? 'no' : 'only'} rows of the positive class "${schema.classes[schema.positiveIndex]}": AUC needs both`, 'dataset');
  const metrics = {
    rows: yl.length,
    positives,
    auc: aucWithInterval(yl, p),
    logLoss: logLoss(yl, p),
    atThreshold: thresholdMetrics(yl, p, THRESHOLD),
    roc: rocCurve(yl, p),
    calibration: calibrationCurve(yl, p),
  };
  return ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(modelEvaluations)
      .values({ modelVersionId: v.id, dataset: dataset.name, environment: input.environment, fingerprint: dataset.fingerprint, rows: yl.length, metrics, createdBy: actorLabel(meta.actor).actorLabel })
      .returning();
    const [project] = await tx.select({ teamId: projects.teamId }).from(projects).where(eq(projects.id, input.projectId));
    await emitAudit(tx, meta, {
      action: 'model.evaluate',
      target: { type: 'model', id: model.id },
      teamId: project?.teamId ?? null,
      projectId: input.projectId,
      details: { model: model.name, version: v.version, dataset: dataset.name, environment: input.environment, fingerprint: dataset.fingerprint, rows: yl.length, auc: metrics.auc.auc },
    });
    return storedOf(row!, v.version);
  });
}

/** Every stored evaluation of a model's versions, newest first. */
export async function listModelEvaluations({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof ListEvaluationsInput> }): Promise<StoredEvaluation[]> {
  const model = await findModel(ctx.db, input);
  const versions = await ctx.db.select({ id: modelVersions.id, version: modelVersions.version }).from(modelVersions).where(eq(modelVersions.modelId, model.id));
  if (versions.length === 0) return [];
  const numbers = new Map(versions.map((x) => [x.id, x.version]));
  const rows = await ctx.db.select().from(modelEvaluations).where(inArray(modelEvaluations.modelVersionId, [...numbers.keys()])).orderBy(desc(modelEvaluations.createdAt));
  return rows.map((r) => storedOf(r, numbers.get(r.modelVersionId)!));
}

function storedOf(r: typeof modelEvaluations.$inferSelect, version: number): StoredEvaluation {
  return { id: r.id, version, dataset: r.dataset, environment: r.environment, fingerprint: r.fingerprint, rows: r.rows, metrics: r.metrics, createdBy: r.createdBy, createdAt: r.createdAt.toISOString() };
}
