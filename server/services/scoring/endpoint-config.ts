import type { InferenceSession } from 'onnxruntime-node';
import type { FeatureSchema } from '@/server/ml/onnx/feature-schema';
import type { Offload } from '@/server/scoring/session-cache';

/** What a predict request needs to know about an endpoint, resolved once and cached. */
export type EndpointConfig = {
  endpointId: string;
  name: string;
  projectId: string;
  teamId: string;
  modelId: string;
  modelName: string;
  versionId: string;
  version: number;
  /** `pinned` when the endpoint names a version, else `champion`. */
  serving: 'champion' | 'pinned';
  artifactSha256: string;
  schema: FeatureSchema;
  /** Loaded before the config is handed out: a switch to a new version never fails a request. */
  session: InferenceSession;
  negativeClass: string;
  positiveClass: string;
  /** The endpoint's decision threshold: label = positive class when p(positive) >= it; null keeps the model's label. */
  threshold: number | null;
  /** The deployed bundle a production endpoint serves (null for design endpoints). */
  bundleHash: string | null;
  /** The challenger scored after each answer (logged, never returned); null when none is set or it cannot load. */
  shadow: ShadowConfig | null;
  /** Sends runs of many records to the scoring pool's threads (null from `offload` for small ones). */
  offload: Offload;
};

/** The endpoint's shadow version, loaded like the served one. */
export type ShadowConfig = { versionId: string; version: number; schema: FeatureSchema; session: InferenceSession; positiveClass: string; offload: Offload };

/**
 * The label an endpoint returns for one record: with a threshold, the positive class exactly when
 * its probability is at least the threshold; without one, what the model itself said.
 */
export function labelAtThreshold(threshold: number | null, modelLabel: string, positiveProbability: number, classes: { positiveClass: string; negativeClass: string }): string {
  if (threshold === null) return modelLabel;
  return positiveProbability >= threshold ? classes.positiveClass : classes.negativeClass;
}
