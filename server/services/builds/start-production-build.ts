import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { eq } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { buildSteps, pipelineGraphs, runs } from '@/db/schema';
import { cellNamesOf, planBuild, type BuildPlanStep, type PipelineGraph } from '@/server/pipeline';
import { emitAudit, type AuditMeta } from '../audit/emit';
import { actorLabel } from '../context';
import type { BundleManifest } from '../bundles/manifest';
import { teamOfProject } from '../endpoints/find-endpoint';
import type { BuildRunInput } from './build-view';
import { buildStepRows, buildWorkflowIdOf } from './start-build';

export type ProductionBuildInput = {
  runId: string;
  projectId: string;
  bundleHash: string;
  manifest: BundleManifest;
  /** Only these datasets' writers and everything downstream of them; all steps when absent. */
  datasets?: string[] | undefined;
  /** The scenario run that asked for it. */
  scenarioRunId?: string;
};

/**
 * Stores a production build of a deployed bundle: its graph (from the manifest, content-addressed
 * like a design build's), the run (environment production, stamped with the bundle hash) and its
 * planned steps, audited `build.start`, in one transaction. Production never reads the design
 * notebook: the plan, the SQL and the ts cells' code all come from the bundle. Idempotent by run id
 * (a retried activity finds the run it stored). The caller starts `build-<runId>`.
 */
export async function createProductionBuild(db: Db, meta: AuditMeta, input: ProductionBuildInput): Promise<{ ok: true; runId: string } | { ok: false; message: string }> {
  const graph: PipelineGraph = input.manifest.graph.graph;
  const json = canonicalize(graph);
  if (json === undefined) throw new Error('bundle graph is not serialisable');
  const hash = createHash('sha256').update(json).digest('hex');
  if (hash !== input.manifest.graph.hash) throw new Error(`bundle ${input.bundleHash.slice(0, 12)}: its graph hashes to ${hash.slice(0, 12)}, not ${input.manifest.graph.hash.slice(0, 12)}`);

  const planned = planProduction(graph, input.datasets);
  if (!planned.ok) return planned;
  const target = input.datasets?.length === 1 ? { kind: 'downstream' as const, cellId: planned.steps[0]!.cellId } : { kind: 'all' as const };
  const runInput: BuildRunInput & { datasets?: string[]; scenarioRunId?: string } = {
    environment: 'production',
    target,
    graphHash: hash,
    cellNames: cellNamesOf(input.manifest.cells),
    ...(input.datasets ? { datasets: input.datasets } : {}),
    ...(input.scenarioRunId ? { scenarioRunId: input.scenarioRunId } : {}),
  };
  await db.transaction(async (tx) => {
    const [existing] = await tx.select({ id: runs.id }).from(runs).where(eq(runs.id, input.runId));
    if (existing) return;
    await tx.insert(pipelineGraphs).values({ hash, json }).onConflictDoNothing();
    await tx.insert(runs).values({
      id: input.runId,
      projectId: input.projectId,
      kind: 'build',
      status: 'queued',
      workflowId: buildWorkflowIdOf(input.runId),
      input: runInput,
      bundleHash: input.bundleHash,
      createdBy: actorLabel(meta.actor).actorLabel,
    });
    await tx.insert(buildSteps).values(buildStepRows(input.runId, planned.steps, input.manifest.cells));
    await emitAudit(tx, meta, {
      action: 'build.start',
      target: { type: 'run', id: input.runId },
      teamId: await teamOfProject(tx, input.projectId),
      projectId: input.projectId,
      details: { environment: 'production', bundleHash: input.bundleHash, target, datasets: input.datasets ?? null, graphHash: hash, steps: planned.steps.map((s) => s.stepId) },
    });
  });
  return { ok: true, runId: input.runId };
}

/** Every step, or the writers of `datasets` and everything downstream of them (in dependency order). */
function planProduction(graph: PipelineGraph, datasets: string[] | undefined): { ok: true; steps: BuildPlanStep[] } | { ok: false; message: string } {
  const all = planBuild(graph, { kind: 'all' });
  if (!all.ok) return all;
  if (!datasets) return { ok: true, steps: all.plan.steps };
  const selected = new Set<string>();
  for (const d of datasets) {
    const writer = all.plan.steps.find((s) => s.dataset === d && s.kind !== 'check' && s.kind !== 'train');
    if (!writer) return { ok: false, message: `the bundle builds no dataset "${d}"` };
    const down = planBuild(graph, { kind: 'downstream', cellId: writer.cellId });
    if (!down.ok) return down;
    for (const s of down.plan.steps) selected.add(s.stepId);
  }
  const steps = all.plan.steps.filter((s) => selected.has(s.stepId)).map((s) => ({ ...s, after: s.after.filter((a) => selected.has(a)) }));
  return { ok: true, steps };
}
