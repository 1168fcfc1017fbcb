import type { ChartSpec } from '@/server/pipeline/chart-spec';
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { TrainingDataRef } from '@/db/schema';
import { SEEN_ROWS_MEDIA_TYPE, seenRowsBytes } from '@/server/ml/seen-rows';
import type { CellKind, PipelineGraph } from '@/server/pipeline';

export const BUNDLE_FORMAT = 'stagebook.bundle/1';

/** A bundle's content hash: the sha256 (hex) of its canonical manifest. */
export type BundleHash = string & { readonly __brand: 'BundleHash' };

/** `title` and `chart` only when the cell has them, so bundles of cells without them hash as before. */
export type ManifestCell = { id: string; kind: CellKind; source: string; title?: string; chart?: ChartSpec };

/** A model version the bundle uses, by the sha256 of its ONNX artifact (version numbers differ between instances). */
export type ManifestModel = {
  name: string;
  /** The version number where the bundle was promoted (informational: deployments resolve by artifact). */
  version: number;
  source: string;
  algorithm: string;
  artifact: { sha256: string; size: number; mediaType: string };
  spec: Record<string, unknown>;
  featureSchema: Record<string, unknown>;
  metrics: Record<string, unknown> | null;
  trainingData: Record<string, unknown> | null;
  /** The cells that name the model (train, score, endpoint), by id. */
  usedBy: string[];
};

/** `threshold` only when the cell sets one (so bundles without one keep their hash). */
export type ManifestEndpoint = { name: string; model: string; description: string; cellId: string; threshold?: number };
export type ManifestScenario = { cellId: string; source: string };

/**
 * Everything a bundle is, as hashed. Holds no project id, instance, time or person: the same
 * content promoted anywhere gives the same hash.
 */
export type BundleManifest = {
  format: typeof BUNDLE_FORMAT;
  graph: { hash: string; graph: PipelineGraph };
  /** Every cell in notebook order, with its source. */
  cells: ManifestCell[];
  /** Sorted by name. */
  models: ManifestModel[];
  /** Scenario cells verbatim, in notebook order (parsed by a later release). */
  scenarios: ManifestScenario[];
  /** Sorted by name. */
  endpoints: ManifestEndpoint[];
  /**
   * The project's extra Python packages when the bundle was promoted, which its production runs
   * install (not the project's list of the day). Only in bundles with a Python cell promoted since
   * bundles carry them, so other bundles keep their hashes; a bundle without it runs on the
   * project's current list, as before.
   */
  python?: ManifestPython;
};

/** Normalised `name==version` lines as the project stored them ('' for none). */
export type ManifestPython = { requirements: string };

export const sha256Hex = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

/** The manifest's canonical JSON (RFC 8785) and its sha256. */
export function sealManifest(manifest: BundleManifest): { json: string; hash: BundleHash } {
  const json = canonicalize(manifest);
  if (json === undefined) throw new Error('bundle manifest is not serialisable');
  return { json, hash: sha256Hex(json) as BundleHash };
}

export function parseManifest(json: string): BundleManifest {
  return JSON.parse(json) as BundleManifest;
}

/** The artifacts a manifest refers to, each once. */
export function manifestArtifacts(m: BundleManifest): { sha256: string; size: number; mediaType: string }[] {
  const seen = new Map<string, { sha256: string; size: number; mediaType: string }>();
  for (const model of m.models) {
    seen.set(model.artifact.sha256, model.artifact);
    // The digest of its training rows travels with a trained version, so a retrain gate on the
    // other instance still judges it only on rows it did not train on.
    const rows = (model.trainingData as TrainingDataRef | null)?.seenRows;
    if (rows) seen.set(rows.sha256, { sha256: rows.sha256, size: seenRowsBytes(rows.count), mediaType: SEEN_ROWS_MEDIA_TYPE });
  }
  return [...seen.values()].sort((a, b) => (a.sha256 < b.sha256 ? -1 : 1));
}

/** The requirements a production run of this bundle installs: its own, or undefined for the project's current list (a bundle from before they were carried). */
export function bundleRequirements(m: BundleManifest): { text: string; sha256: string } | null | undefined {
  if (!m.python) return undefined;
  return m.python.requirements === '' ? null : { text: m.python.requirements, sha256: sha256Hex(m.python.requirements) };
}
