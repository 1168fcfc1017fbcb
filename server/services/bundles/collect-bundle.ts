import { and, eq, inArray } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { artifacts, models, modelVersions } from '@/db/schema';
import type { ServiceCtx } from '../context';
import { parseScenarioCell } from '@/server/pipeline/scenario-cell';
import { requirementsForRun } from '../projects/python-requirements';
import { compileCurrentNotebook, type CompileDiagnostic } from '../pipeline/compile-notebook';
import { parseEndpointCell, parseModelOfCell } from './endpoint-cell';
import { BUNDLE_FORMAT, sealManifest, type BundleHash, type BundleManifest, type ManifestEndpoint, type ManifestModel } from './manifest';

export type CollectedBundle =
  | { ok: true; manifest: BundleManifest; json: string; hash: BundleHash; diagnostics: CompileDiagnostic[]; graphHash: string; buildSteps: number }
  | { ok: false; compileOk: boolean; diagnostics: CompileDiagnostic[]; graphHash: string; buildSteps: number };

type ModelUse = { model: string; cellId: string; line: number };

/**
 * Compiles the notebook as its users see it now and gathers what a bundle of it holds. User
 * mistakes (compile errors, bad endpoint/train/score YAML, a model with no version) come back as
 * diagnostics on the cell and line, as the compiler's do.
 */
export async function collectBundle(ctx: ServiceCtx, ref: { projectId: string; notebookId: string }): Promise<CollectedBundle> {
  const { result, snapshot } = await compileCurrentNotebook(ctx, ref, 'design');
  const diagnostics: CompileDiagnostic[] = [...result.diagnostics];
  const problem = (cellId: string, line: number, code: string, message: string, column?: number) =>
    diagnostics.push({ cellId, line, ...(column ? { column } : {}), severity: 'error', code, message });

  const uses: ModelUse[] = [];
  const endpoints: ManifestEndpoint[] = [];
  for (const cell of snapshot.cells) {
    if (cell.kind === 'train' || cell.kind === 'score') {
      const r = parseModelOfCell(cell.source);
      if (r.ok) uses.push({ model: r.value, cellId: cell.id, line: lineOfKey(cell.source, 'model') });
      else for (const p of r.problems) problem(cell.id, p.line, p.code, `${cell.kind} cell: ${p.message}`, p.column);
    } else if (cell.kind === 'scenario') {
      // A scenario's retrain and score steps use the bundle's version of their model (the compiler reports a broken cell).
      const spec = parseScenarioCell(cell.source).spec;
      for (const st of spec?.steps ?? []) {
        if (st.type === 'retrain' || st.type === 'score') uses.push({ model: st.model, cellId: cell.id, line: lineOfModel(cell.source, st.model) });
      }
    } else if (cell.kind === 'endpoint') {
      const r = parseEndpointCell(cell.source);
      if (!r.ok) {
        for (const p of r.problems) problem(cell.id, p.line, p.code, `endpoint cell: ${p.message}`, p.column);
        continue;
      }
      const clash = endpoints.find((e) => e.name === r.value.name);
      if (clash) problem(cell.id, lineOfKey(cell.source, 'name'), 'duplicate-endpoint', `endpoint "${r.value.name}" is also declared by cell "${clash.cellId}"`);
      else endpoints.push({ name: r.value.name, model: r.value.model, description: r.value.description, cellId: cell.id, ...(r.value.threshold !== undefined ? { threshold: r.value.threshold } : {}) });
      uses.push({ model: r.value.model, cellId: cell.id, line: lineOfKey(cell.source, 'model') });
    }
  }

  const resolved = await resolveModels(ctx.db, ref.projectId, uses);
  for (const u of uses) {
    if (resolved.has(u.model)) continue;
    problem(u.cellId, u.line, 'model-has-no-version', `model "${u.model}" has no version to bundle: train or import one (and make it champion) before promoting`);
  }

  const ok = !diagnostics.some((d) => d.severity === 'error');
  if (!ok) return { ok: false, compileOk: result.ok, diagnostics, graphHash: result.hash, buildSteps: result.graph.steps.length };

  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    graph: { hash: result.hash, graph: result.graph },
    cells: snapshot.cells.map((c) => ({ id: c.id, kind: c.kind, source: c.source, ...(c.title ? { title: c.title } : {}), ...(c.chart ? { chart: c.chart } : {}) })),
    models: [...resolved.values()].sort((a, b) => (a.name < b.name ? -1 : 1)),
    scenarios: snapshot.cells.filter((c) => c.kind === 'scenario').map((c) => ({ cellId: c.id, source: c.source })),
    endpoints: endpoints.sort((a, b) => (a.name < b.name ? -1 : 1)),
    ...(snapshot.cells.some((c) => c.kind === 'python') ? { python: { requirements: (await requirementsForRun(ctx.db, ref.projectId))?.text ?? '' } } : {}),
  };
  for (const m of manifest.models) m.usedBy = [...new Set(uses.filter((u) => u.model === m.name).map((u) => u.cellId))].sort();
  return { ok: true, manifest, ...sealManifest(manifest), diagnostics, graphHash: result.hash, buildSteps: result.graph.steps.length };
}

/** Each named model at its champion version (absent: the model does not exist or has no champion). */
async function resolveModels(db: DbOrTx, projectId: string, uses: ModelUse[]): Promise<Map<string, ManifestModel>> {
  const names = [...new Set(uses.map((u) => u.model))];
  const out = new Map<string, ManifestModel>();
  if (names.length === 0) return out;
  const rows = await db
    .select({ name: models.name, v: modelVersions, size: artifacts.size, mediaType: artifacts.mediaType })
    .from(models)
    .innerJoin(modelVersions, eq(modelVersions.id, models.championVersionId))
    .innerJoin(artifacts, eq(artifacts.sha256, modelVersions.artifactSha256))
    .where(and(eq(models.projectId, projectId), inArray(models.name, names)));
  for (const r of rows) {
    out.set(r.name, {
      name: r.name,
      version: r.v.version,
      source: r.v.source,
      algorithm: r.v.algorithm,
      artifact: { sha256: r.v.artifactSha256, size: r.size, mediaType: r.mediaType },
      spec: r.v.spec,
      featureSchema: r.v.featureSchema,
      metrics: r.v.metrics ?? null,
      trainingData: r.v.trainingData ?? null,
      usedBy: [],
    });
  }
  return out;
}

/** The 1-based line where a scenario step names `model` (1 when absent). */
function lineOfModel(source: string, model: string): number {
  const i = source.split('\n').findIndex((l) => new RegExp(`^\\s*model:\\s*["']?${model}["']?\\s*$`).test(l));
  return i < 0 ? 1 : i + 1;
}

/** The 1-based line of a top-level key in a YAML cell (1 when absent). */
function lineOfKey(source: string, key: string): number {
  const i = source.split('\n').findIndex((l) => l.startsWith(`${key}:`));
  return i < 0 ? 1 : i + 1;
}
