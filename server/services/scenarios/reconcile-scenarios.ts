import canonicalize from 'canonicalize';
import { and, eq, notInArray, sql } from 'drizzle-orm';
import type { Tx } from '@/db/client';
import { scenarios } from '@/db/schema';
import { parseScenarioCell } from '@/server/pipeline/scenario-cell';
import type { ActivationPlan } from '../deployments/reconciler-types';
import { preconditionFailed } from '../errors';

export type ScenarioChange = { name: string; change: 'create' | 'update' | 'delete' | 'unchanged' };

/**
 * Makes the project's `scenarios` rows exactly the scenarios the activated bundle declares (parsed,
 * defaults filled in), inside the activation's transaction. A scenario cell that does not parse
 * (promote refuses those, but a bundle may come from an import) or two cells of one name fail the
 * activation with a message naming the cell: the previous deployment stays fully active.
 */
export async function reconcileScenarios(tx: Tx, plan: ActivationPlan): Promise<{ scenarios: ScenarioChange[] }> {
  const declared = new Map<string, { cellId: string; spec: Record<string, unknown> }>();
  for (const cell of plan.manifest.scenarios) {
    const parsed = parseScenarioCell(cell.source);
    if (!parsed.spec) {
      const p = parsed.problems[0];
      throw preconditionFailed(`scenario cell ${cell.cellId} of bundle ${plan.bundleHash.slice(0, 12)} is not valid (line ${p?.line ?? 1}: ${p?.message ?? 'it does not parse'}): fix it in the notebook and promote again`);
    }
    const clash = declared.get(parsed.spec.name);
    if (clash) throw preconditionFailed(`bundle ${plan.bundleHash.slice(0, 12)} declares scenario "${parsed.spec.name}" twice (cells ${clash.cellId} and ${cell.cellId})`);
    declared.set(parsed.spec.name, { cellId: cell.cellId, spec: parsed.spec as unknown as Record<string, unknown> });
  }

  const current = await tx.select().from(scenarios).where(eq(scenarios.projectId, plan.projectId)).for('update');
  const byName = new Map(current.map((s) => [s.name, s]));
  const changes: ScenarioChange[] = [];
  for (const [name, d] of declared) {
    const existing = byName.get(name);
    if (!existing) {
      await tx.insert(scenarios).values({ projectId: plan.projectId, name, bundleHash: plan.bundleHash, cellId: d.cellId, spec: d.spec });
      changes.push({ name, change: 'create' });
      continue;
    }
    const same = existing.bundleHash === plan.bundleHash && existing.cellId === d.cellId && canonicalize(existing.spec) === canonicalize(d.spec);
    if (!same) {
      await tx.update(scenarios).set({ bundleHash: plan.bundleHash, cellId: d.cellId, spec: d.spec, updatedAt: sql`now()` }).where(eq(scenarios.id, existing.id));
    }
    changes.push({ name, change: same ? 'unchanged' : 'update' });
  }
  const keep = [...declared.keys()];
  const removed = current.filter((s) => !declared.has(s.name));
  if (removed.length) {
    await tx.delete(scenarios).where(and(eq(scenarios.projectId, plan.projectId), keep.length ? notInArray(scenarios.name, keep) : sql`true`));
    for (const s of removed) changes.push({ name: s.name, change: 'delete' });
  }
  return { scenarios: changes.sort((a, b) => (a.name < b.name ? -1 : 1)) };
}
