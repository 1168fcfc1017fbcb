import type { CellId } from '@/server/domain/notebook-doc';
import { parseScenarioCell } from '../../pipeline/scenario-cell';
import { diffSnapshots, lineDiff, type CellDiff, type DiffLine } from '../notebooks/diff-versions';
import type { BundleManifest, ManifestCell, ManifestEndpoint, ManifestModel } from './manifest';

type Status = 'added' | 'removed' | 'changed' | 'unchanged';

/** A model version in brief, with its holdout metrics side by side in the diff. */
export type ModelBrief = {
  version: number;
  artifactSha256: string;
  algorithm: string;
  auc: number | null;
  logLoss: number | null;
  accuracy: number | null;
  precision: number | null;
  recall: number | null;
};
export type ModelDiff = { name: string; status: Status; from: ModelBrief | null; to: ModelBrief | null };
export type EndpointDiff = { name: string; status: Status; from: Omit<ManifestEndpoint, 'name'> | null; to: Omit<ManifestEndpoint, 'name'> | null };
/** `name`: the scenario's `name:` (the new one, or the removed one's), null when its YAML does not say. */
export type ScenarioDiff = { cellId: string; name: string | null; status: Status; lines: DiffLine[] };
/**
 * The Python requirements a bundle's production runs install: `from`/`to` null when that bundle
 * does not carry them (no Python cell, or promoted before bundles carried them).
 */
export type RequirementsDiff = { status: Status; from: string | null; to: string | null; lines: DiffLine[] };
export type BundleDiff = {
  /** Cells in the new order, removed ones after their old neighbour; unchanged cells have no lines. */
  cells: CellDiff[];
  models: ModelDiff[];
  scenarios: ScenarioDiff[];
  endpoints: EndpointDiff[];
  requirements: RequirementsDiff;
  graphChanged: boolean;
  summary: { cells: Record<Status, number>; models: Record<Status, number>; endpoints: Record<Status, number>; scenarios: Record<Status, number> };
};

type Evaluation = { auc?: { auc?: number }; logLoss?: number; atThreshold?: { accuracy?: number; precision?: number; recall?: number } };

function brief(m: ManifestModel): ModelBrief {
  const e = (m.metrics as { evaluation?: Evaluation } | null)?.evaluation;
  return {
    version: m.version,
    artifactSha256: m.artifact.sha256,
    algorithm: m.algorithm,
    auc: e?.auc?.auc ?? null,
    logLoss: e?.logLoss ?? null,
    accuracy: e?.atThreshold?.accuracy ?? null,
    precision: e?.atThreshold?.precision ?? null,
    recall: e?.atThreshold?.recall ?? null,
  };
}

function byKey<T, K extends string>(from: T[], to: T[], key: (t: T) => K, same: (a: T, b: T) => boolean) {
  const a = new Map(from.map((x) => [key(x), x]));
  const b = new Map(to.map((x) => [key(x), x]));
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  return keys.map((k) => {
    const x = a.get(k);
    const y = b.get(k);
    const status: Status = !x ? 'added' : !y ? 'removed' : same(x, y) ? 'unchanged' : 'changed';
    return { key: k, from: x ?? null, to: y ?? null, status };
  });
}

const snapshotOf = (cells: ManifestCell[]) => ({ cells: cells.map((c) => ({ id: c.id as CellId, kind: c.kind, source: c.source, collapsed: false })) });

function count<T extends { status: Status }>(xs: T[]): Record<Status, number> {
  const out: Record<Status, number> = { added: 0, removed: 0, changed: 0, unchanged: 0 };
  for (const x of xs) out[x.status]++;
  return out;
}

/** What promoting `to` changes relative to `from` (null: the first bundle, everything is added). */
export function diffManifests(from: BundleManifest | null, to: BundleManifest): BundleDiff {
  const cells = diffSnapshots(snapshotOf(from?.cells ?? []), snapshotOf(to.cells));
  const models = byKey(from?.models ?? [], to.models, (m) => m.name, (a, b) => a.artifact.sha256 === b.artifact.sha256).map((d) => ({
    name: d.key,
    status: d.status,
    from: d.from ? brief(d.from) : null,
    to: d.to ? brief(d.to) : null,
  }));
  const strip = ({ name: _name, ...rest }: ManifestEndpoint) => rest;
  const endpoints = byKey(from?.endpoints ?? [], to.endpoints, (e) => e.name, (a, b) => a.model === b.model && a.description === b.description && a.threshold === b.threshold).map((d) => ({
    name: d.key,
    status: d.status,
    from: d.from ? strip(d.from) : null,
    to: d.to ? strip(d.to) : null,
  }));
  const scenarios = byKey(from?.scenarios ?? [], to.scenarios, (s) => s.cellId, (a, b) => a.source === b.source).map((d) => ({
    cellId: d.key,
    name: parseScenarioCell((d.to ?? d.from)?.source ?? '').spec?.name ?? null,
    status: d.status,
    lines: d.status === 'unchanged' ? [] : lineDiff(d.from?.source ?? '', d.to?.source ?? ''),
  }));
  return {
    cells,
    models,
    scenarios,
    endpoints,
    requirements: requirementsDiff(from?.python?.requirements ?? null, to.python?.requirements ?? null),
    graphChanged: from?.graph.hash !== to.graph.hash,
    summary: { cells: count(cells), models: count(models), endpoints: count(endpoints), scenarios: count(scenarios) },
  };
}

function requirementsDiff(from: string | null, to: string | null): RequirementsDiff {
  const status: Status = from === to ? 'unchanged' : from === null ? 'added' : to === null ? 'removed' : 'changed';
  return { status, from, to, lines: status === 'unchanged' ? [] : lineDiff(from ?? '', to ?? '') };
}
