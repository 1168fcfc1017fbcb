import type { modelVersions } from '@/db/schema';
import { buildDriftReference, DriftReference, PREDICTION_EDGES, numericReference, type FeatureKind } from '@/server/ml/drift-reference';
import { FeatureSchema } from '@/server/ml/onnx/feature-schema';
import { predict } from '@/server/scoring/session-cache';
import type { ServiceCtx } from '../context';
import { findDataset } from '../datasets/find-dataset';
import { ServiceError } from '../errors';
import { readArtifact } from '../models/artifacts';
import { readDatasetTable } from '../models/read-dataset';
import { scoringRuntime } from '../scoring/runtime';

/** Rows of the training dataset scored to rebuild a prediction histogram. */
const PREDICTION_SAMPLE = 2_000;

export type ReferenceOutcome = { reference: DriftReference; source: 'stored' | 'training_dataset' } | { reference: null; reason: string };

/**
 * A version's drift reference: the one stored at training; else (imported versions, versions
 * trained before drift existed) one rebuilt from its training dataset if that still exists: every
 * row's features (the training/holdout split is not known any more) and the model's predictions on
 * an even sample of 2,000 rows. Otherwise the reason drift is unavailable.
 */
export async function referenceOf(ctx: ServiceCtx, projectId: string, version: typeof modelVersions.$inferSelect): Promise<ReferenceOutcome> {
  const stored = DriftReference.safeParse(version.reference);
  if (stored.success) return { reference: stored.data, source: 'stored' };
  const data = version.trainingData;
  if (!data) return { reference: null, reason: `version ${version.version} was ${version.source === 'imported' ? 'imported' : 'registered'} without its training data, so there is no reference to compare with` };
  let dataset: Awaited<ReturnType<typeof findDataset>>;
  try {
    dataset = await findDataset(ctx.db, { projectId, environment: data.environment, name: data.dataset });
  } catch (err) {
    if (err instanceof ServiceError && err.kind === 'NotFound') return { reference: null, reason: `the training dataset "${data.dataset}" of version ${version.version} no longer exists` };
    throw err;
  }
  const schema = FeatureSchema.parse(version.featureSchema);
  const byName = new Map(dataset.columns.map((c) => [c.name, c]));
  const inputs = schema.inputs.filter((f) => byName.has(f.name));
  if (inputs.length === 0) return { reference: null, reason: `the training dataset "${data.dataset}" has none of the model's features any more` };
  const table = await readDatasetTable(ctx.db, { projectId, environment: data.environment, table: data.dataset }, inputs.map((f) => byName.get(f.name)!));
  const features: FeatureKind[] = inputs.map((f) => ({ name: f.name, kind: f.type === 'categorical' || f.type === 'text' ? 'categorical' : 'numeric' }));
  const reference = buildDriftReference(table.columns, features, null, null);
  const n = reference.rows;
  if (n > 0 && inputs.length === schema.inputs.length) {
    const k = Math.min(PREDICTION_SAMPLE, n);
    const rows = Array.from({ length: k }, (_, i) => Math.floor((i * n) / k));
    const records = rows.map((r) => Object.fromEntries(inputs.map((f) => [f.name, table.columns[f.name]![r] ?? null])));
    const session = await scoringRuntime(ctx.db).sessions.get(version.artifactSha256, () => readArtifact(ctx.db, version.artifactSha256));
    // Rows the model cannot take (a value that is no longer valid) leave the prediction histogram out.
    const scored = await predict(session, schema, records).catch(() => null);
    if (scored) reference.prediction = numericReference('prediction', scored.map((p) => p.probabilities.pos), PREDICTION_EDGES);
  }
  return { reference, source: 'training_dataset' };
}
