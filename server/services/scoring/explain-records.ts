import { eq } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { modelVersions } from '@/db/schema';
import { type Explanation, MODEL_METADATA_KEY, explainTable, modelFromJson } from '@/server/ml/explain';
import type { Model } from '@/server/ml/model';
import { decodeModel } from '@/server/ml/onnx/proto';
import type { CellValue, Table } from '@/server/ml/types';
import { featureColumns } from '@/server/scoring/records';
import { invalid } from '../errors';
import { readArtifact } from '../models/artifacts';
import type { EndpointConfig } from './endpoint-config';

/** Contributions listed per record; the rest are summed in `otherFeatures`. */
export const EXPLAIN_TOP = 10;

/**
 * A record's explanation in log-odds: baseline + sum(contributions) + otherFeatures = margin, and
 * the positive class's probability is sigmoid(margin) (the served probability, to float rounding).
 */
export type RecordExplanation = {
  baseline: number;
  margin: number;
  contributions: { feature: string; contribution: number }[];
  otherFeatures: number;
};

/**
 * Trained versions' models by version id, parsed from the ONNX file's metadata. Only versions
 * trained here: an imported file's metadata is the uploader's word, not proof of what its graph
 * computes, so imports (null) are never explained.
 */
const models = new Map<string, Promise<Model | null>>();
const MAX_MODELS = 32;

function trainedModel(db: DbOrTx, versionId: string, sha256: string): Promise<Model | null> {
  let hit = models.get(versionId);
  if (!hit) {
    hit = (async () => {
      const [row] = await db.select({ source: modelVersions.source }).from(modelVersions).where(eq(modelVersions.id, versionId));
      if (row?.source !== 'trained') return null;
      const json = decodeModel(await readArtifact(db, sha256)).metadataProps.find((p) => p.key === MODEL_METADATA_KEY)?.value;
      return json ? modelFromJson(json) : null;
    })();
    models.set(versionId, hit);
    hit.catch(() => models.delete(versionId));
    while (models.size > MAX_MODELS) models.delete(models.keys().next().value!);
  }
  return hit;
}

/**
 * Adds per-record explanations to a predict result: the `explain: true` path, apart from plain
 * scoring so the hot path pays nothing for it. Exact log-odds terms (logistic regression) or
 * TreeSHAP (trees) from the model the served ONNX file was exported from. An imported ONNX file
 * has no such model: a 400 saying so.
 */
export async function explainPredictions<P extends object, R extends { predictions: P[] }>(
  db: DbOrTx,
  config: EndpointConfig,
  records: readonly unknown[],
  result: R,
): Promise<R & { predictions: (P & { explanation: RecordExplanation })[] }> {
  const model = await trainedModel(db, config.versionId, config.artifactSha256);
  if (!model) {
    throw invalid(
      `explanations need a version trained in Stagebook: version ${config.version} of model "${config.modelName}" is an imported ONNX file (or was trained before explanations existed); train a version to explain it`,
      'explain',
    );
  }
  const explanations = explainTable(model, tableOfRecords(config, records), records.length);
  return { ...result, predictions: result.predictions.map((p, i) => ({ ...p, explanation: summarise(explanations[i]!) })) };
}

/** The records as the model's feature columns, read exactly as scoring read them. */
function tableOfRecords(config: EndpointConfig, records: readonly unknown[]): Table {
  const byFeature = featureColumns(config.schema, records);
  const columns: Record<string, CellValue[]> = {};
  for (const [i, f] of config.schema.inputs.entries()) {
    const c = byFeature[i]!;
    columns[f.name] = Array.from(c.data as ArrayLike<number | string | bigint | boolean>, (v): CellValue => {
      if (typeof v === 'string') return v;
      if (typeof v === 'bigint') return Number(v);
      if (typeof v === 'boolean') return v ? 1 : 0;
      return Number.isNaN(v) ? null : v;
    });
  }
  return { columns, schema: config.schema.inputs.map((f) => ({ name: f.name, type: f.type })) };
}

function summarise(e: Explanation): RecordExplanation {
  let otherFeatures = 0;
  for (const c of e.contributions.slice(EXPLAIN_TOP)) otherFeatures += c.contribution;
  return { baseline: e.baseline, margin: e.margin, contributions: e.contributions.slice(0, EXPLAIN_TOP), otherFeatures };
}
