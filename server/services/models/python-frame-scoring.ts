import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { buildDriftReference, type DriftReference, type FeatureKind } from '@/server/ml/drift-reference';
import { frameRowHashes } from '@/server/ml/frame-rows';
import type { FeatureSchema } from '@/server/ml/onnx/feature-schema';
import { permutationImportance, type PermutationImportance } from '@/server/ml/permutation-importance';
import { predict, SESSION_OPTIONS } from '@/server/scoring/session-cache';
import { frameRecords, frameRows, type ModelFrame } from '../cells/python-model-frame';

/** Holdout rows permutation importance scores (evenly spaced): enough for a stable ranking, bounded time. */
export const IMPORTANCE_ROWS = 2_000;
export const IMPORTANCE_REPEATS = 5;

/** Positive-class probabilities of `records` from an onnxruntime session, as a served model computes them. */
export async function scoreRecords(session: ort.InferenceSession, schema: FeatureSchema, records: readonly Record<string, unknown>[]): Promise<Float64Array> {
  if (records.length === 0) return new Float64Array(0);
  return Float64Array.from(await predict(session, schema, records), (p) => p.probabilities.pos);
}

/**
 * A session of its own for an ONNX file that is not served (a Python model's estimate: the copy
 * fitted on the training part), released after `fn`; the scoring cache only holds served artifacts.
 */
export async function withOwnSession<T>(bytes: Uint8Array, fn: (session: ort.InferenceSession) => Promise<T>): Promise<T> {
  const session = await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
  try {
    return await fn(session);
  } finally {
    await session.release();
  }
}

/** What the server derives from a Python model's frame: row hashes, the holdout scored by onnxruntime, importance, a drift reference. */
export type FrameFacts = {
  /** Row hashes of the frame (server/ml/frame-rows.ts). */
  hashes: Int32Array;
  /** sha256 of the row hashes in order: the data's fingerprint. */
  fingerprint: string;
  holdout: number[];
  /** Labels of the holdout rows (1 = positive), in `holdout` order. */
  y: Uint8Array;
  /** The estimate's probabilities on the holdout, by onnxruntime. */
  p: Float64Array;
  importance: PermutationImportance;
  reference: DriftReference;
};

/**
 * Scores the frame's holdout with the estimate's ONNX file (`estimateSchema`), computes permutation
 * importance on up to IMPORTANCE_ROWS of those rows with it, and a drift reference of the rows the
 * served model was fitted on (`fittedRows`; every row when null).
 */
export async function frameFacts(frame: ModelFrame, estimate: Uint8Array, estimateSchema: FeatureSchema, fittedRows: readonly number[] | null): Promise<FrameFacts> {
  const hashes = frameRowHashes(
    frame.columns.map((c) => c.values),
    frame.y,
    frame.rows,
  );
  const holdout = frameRows(frame, 'holdout');
  const y = Uint8Array.from(holdout, (r) => frame.y[r]!);
  const features = frame.columns.map((c) => c.name);
  const { p, importance } = await withOwnSession(estimate, async (session) => {
    const p = await scoreRecords(session, estimateSchema, frameRecords(frame, holdout));
    const k = Math.min(IMPORTANCE_ROWS, holdout.length);
    const sample = Array.from({ length: k }, (_, i) => Math.floor((i * holdout.length) / k));
    const importance = await permutationImportance({
      records: frameRecords(
        frame,
        sample.map((i) => holdout[i]!),
      ),
      y: Uint8Array.from(sample, (i) => y[i]!),
      features,
      score: (records) => scoreRecords(session, estimateSchema, records),
      repeats: IMPORTANCE_REPEATS,
    });
    return { p, importance };
  });
  const kinds: FeatureKind[] = frame.columns.map((c) => ({ name: c.name, kind: c.kind === 'number' ? 'numeric' : 'categorical' }));
  const columns = Object.fromEntries(frame.columns.map((c) => [c.name, c.kind === 'number' ? Array.from(c.values, (v) => (Number.isNaN(v) ? null : v)) : c.values]));
  const reference = buildDriftReference(columns, kinds, fittedRows, p);
  const fingerprint = createHash('sha256').update(new Uint8Array(hashes.buffer)).digest('hex');
  return { hashes, fingerprint, holdout, y, p, importance, reference };
}

/** The importance as the model page's bars: each feature's share of the total positive AUC drop. */
export function importanceShares(importance: PermutationImportance): { feature: string; importance: number }[] {
  const total = importance.features.reduce((a, f) => a + Math.max(0, f.meanDrop), 0);
  return importance.features.map((f) => ({ feature: f.feature, importance: total > 0 ? Math.max(0, f.meanDrop) / total : 0 }));
}
