import { and, desc, eq, inArray } from 'drizzle-orm';
import type { z } from 'zod';
import { datasets, notebookCellOutputs } from '@/db/schema';
import type { ServiceCtx } from '../context';
import { currentSnapshot, inputsHashOf, sha256 } from './cell-source';
import type { CellOutput } from './output-types';
import type { CellRef, NotebookOutputsInput } from './output-schemas';

type StoredRow = typeof notebookCellOutputs.$inferSelect;

/** The latest stored output of a cell (null when it never ran), marked stale against the notebook now. */
export async function getCellOutput({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof CellRef> }): Promise<CellOutput | null> {
  const snapshot = await currentSnapshot(ctx, input);
  const [row] = await ctx.db
    .select()
    .from(notebookCellOutputs)
    .where(and(eq(notebookCellOutputs.notebookId, input.notebookId), eq(notebookCellOutputs.cellId, input.cellId)))
    .orderBy(desc(notebookCellOutputs.ranAt))
    .limit(1);
  if (!row) return null;
  return (await withStaleness(ctx, input.projectId, snapshot.cells, [row]))[0] ?? null;
}

/** The latest output of every cell of the notebook that has one (cells deleted since are left out). */
export async function listCellOutputs({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof NotebookOutputsInput> }): Promise<{ outputs: CellOutput[] }> {
  const snapshot = await currentSnapshot(ctx, input);
  const rows = await ctx.db
    .selectDistinctOn([notebookCellOutputs.cellId])
    .from(notebookCellOutputs)
    .where(eq(notebookCellOutputs.notebookId, input.notebookId))
    .orderBy(notebookCellOutputs.cellId, desc(notebookCellOutputs.ranAt));
  return { outputs: await withStaleness(ctx, input.projectId, snapshot.cells, rows) };
}

/**
 * `stale` compares what an output was computed from with now: the cell's source (sha256) first, then
 * its inputs' data fingerprints (a publish or upload changes them).
 */
async function withStaleness(ctx: ServiceCtx, projectId: string, cells: { id: string; source: string }[], rows: StoredRow[]): Promise<CellOutput[]> {
  const sourceOf = new Map(cells.map((c) => [c.id, c.source]));
  const live = rows.filter((r) => sourceOf.has(r.cellId));
  const names = [...new Set(live.flatMap((r) => r.inputNames))];
  const fingerprints =
    names.length === 0
      ? []
      : await ctx.db
          .select({ name: datasets.name, fingerprint: datasets.fingerprint })
          .from(datasets)
          .where(and(eq(datasets.projectId, projectId), eq(datasets.environment, 'design'), inArray(datasets.name, names)));
  const byName = new Map(fingerprints.map((f) => [f.name, f]));
  return live.map((r) => {
    const stored = r.output as unknown as CellOutput;
    const sourceChanged = sha256(sourceOf.get(r.cellId) ?? '') !== r.sourceHash;
    const inputsChanged = inputsHashOf(r.inputNames, byName) !== r.inputsHash;
    const staleReason = sourceChanged ? 'source' : inputsChanged ? 'inputs' : null;
    return { ...stored, stale: staleReason !== null, staleReason };
  });
}
