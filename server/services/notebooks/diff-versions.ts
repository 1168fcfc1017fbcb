import { diffLines } from 'diff';
import type { z } from 'zod';
import { notebookSnapshot, type CellKind, type CellSnapshot, type NotebookSnapshot } from '../../domain/notebook-doc';
import { longestIncreasing } from '../../domain/notebook-snapshot';
import type { ServiceCtx } from '../context';
import { currentNotebookState, withDoc } from './live';
import { requireNotebook } from './notebook-rows';
import type { DiffVersionsInput, VersionSide } from './schemas';
import { cellsOfVersion, requireVersion } from './versions';

export type DiffLine = { op: 'context' | 'add' | 'del'; text: string };
export type CellDiff = {
  id: string;
  status: 'added' | 'removed' | 'changed' | 'unchanged';
  kind: { from: CellKind | null; to: CellKind | null };
  /** The cell changed place relative to the cells both sides share. */
  moved: boolean;
  collapsedChanged: boolean;
  /** Every line of the cell for changed, added and removed cells; empty for unchanged ones. */
  lines: DiffLine[];
  stats: { added: number; removed: number };
};

function splitLines(value: string): string[] {
  const lines = value.split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export function lineDiff(from: string, to: string): DiffLine[] {
  const out: DiffLine[] = [];
  // Appending after a last line with no newline must not show that line as removed and re-added.
  for (const part of diffLines(from, to, { ignoreNewlineAtEof: true })) {
    const op = part.added ? 'add' : part.removed ? 'del' : 'context';
    for (const text of splitLines(part.value)) out.push({ op, text });
  }
  return out;
}

function cellDiff(id: string, a: CellSnapshot | undefined, b: CellSnapshot | undefined, moved: boolean): CellDiff {
  const lines = a && b ? (a.source === b.source ? [] : lineDiff(a.source, b.source)) : lineDiff(a?.source ?? '', b?.source ?? '');
  const kindChanged = a !== undefined && b !== undefined && a.kind !== b.kind;
  const collapsedChanged = a !== undefined && b !== undefined && a.collapsed !== b.collapsed;
  const status = !a ? 'added' : !b ? 'removed' : lines.length > 0 || kindChanged ? 'changed' : 'unchanged';
  return {
    id,
    status,
    kind: { from: a?.kind ?? null, to: b?.kind ?? null },
    moved,
    collapsedChanged,
    lines,
    stats: { added: lines.filter((l) => l.op === 'add').length, removed: lines.filter((l) => l.op === 'del').length },
  };
}

/**
 * Per cell, in the order of `to`, with removed cells placed after the cell that preceded them in
 * `from`. Pure: the UI and the promotion flow can diff any two snapshots.
 */
export function diffSnapshots(from: NotebookSnapshot, to: NotebookSnapshot): CellDiff[] {
  const fromById = new Map(from.cells.map((c) => [c.id as string, c]));
  const toById = new Map(to.cells.map((c) => [c.id as string, c]));
  const sharedFrom = from.cells.filter((c) => toById.has(c.id)).map((c) => c.id as string);
  const sharedTo = to.cells.filter((c) => fromById.has(c.id)).map((c) => c.id as string);
  const rankFrom = new Map(sharedFrom.map((id, i) => [id, i]));
  // Moved: the fewest shared cells whose displacement explains the new order.
  const stayed = longestIncreasing(sharedTo.map((id) => rankFrom.get(id)!));
  const movedIds = new Set(sharedTo.filter((_, i) => !stayed.has(i)));
  const out = to.cells.map((c) => cellDiff(c.id, fromById.get(c.id), c, movedIds.has(c.id)));
  let anchor = -1;
  for (const c of from.cells) {
    if (toById.has(c.id)) {
      anchor = out.findIndex((d) => d.id === c.id);
      continue;
    }
    out.splice(anchor + 1, 0, cellDiff(c.id, c, undefined, false));
    anchor++;
  }
  return out;
}

async function sideSnapshot(ctx: ServiceCtx, notebookId: string, side: z.infer<typeof VersionSide>): Promise<NotebookSnapshot> {
  if (side === 'live') return withDoc(await currentNotebookState(ctx.db, ctx.liveNotebooks, notebookId), notebookSnapshot);
  return cellsOfVersion(await requireVersion(ctx.db, notebookId, side));
}

export async function diffVersions({ ctx, input }: { ctx: ServiceCtx; input: z.infer<typeof DiffVersionsInput> }) {
  const notebook = await requireNotebook(ctx.db, input.projectId, input.notebookId);
  const [from, to] = await Promise.all([sideSnapshot(ctx, notebook.id, input.from), sideSnapshot(ctx, notebook.id, input.to)]);
  const cells = diffSnapshots(from, to);
  const count = (s: CellDiff['status']) => cells.filter((c) => c.status === s).length;
  return {
    from: input.from,
    to: input.to,
    cells,
    summary: { added: count('added'), removed: count('removed'), changed: count('changed'), unchanged: count('unchanged') },
  };
}
