import { randomUUID } from 'node:crypto';
import { and, desc, eq, notInArray } from 'drizzle-orm';
import type { z } from 'zod';
import { notebookCellOutputs } from '@/db/schema';
import type { ServiceCtx } from '../context';
import { invalid } from '../errors';
import type { SandboxFailure } from '../datasets/sql-sandbox';
import { cellInputNames, currentCell, inputStates, lineColumnOf, sha256 } from './cell-source';
import { currentNotebookState } from './live';
import { outputRefEdit } from './output-ref';
import type { CellOutput } from './output-types';
import type { RunCellInput } from './output-schemas';
import { previewPython } from './preview-python';
import { previewSql } from './preview-sql';
import { previewTs } from './preview-ts';
import { appendUpdates } from './storage';
import { byRowKind, isRowCellKind } from '@/server/domain/cell-kinds';

export const PREVIEW_TIMEOUT_MS = 30_000;
/** Stored outputs above this many bytes of JSON keep fewer rows and say `truncated`. */
export const MAX_STORED_OUTPUT_BYTES = 2 * 1024 * 1024;
/** Older outputs of a cell kept besides the latest (readers only ever show the latest). */
const KEEP_PER_CELL = 3;

/**
 * Runs a cell's current source (as the collaboration server holds it) against the design data of its
 * inputs, in the same sandbox as builds, publishing nothing, and stores the output for everyone.
 * Previews are not audited: they change no data or pipeline, run many times a minute while people
 * work, and the stored output already records who ran what and when. Downloads are (see result-csv).
 */
export async function runCell({ ctx, input, timeoutMs, seenWaitMs }: { ctx: ServiceCtx; input: z.output<typeof RunCellInput>; timeoutMs?: number; seenWaitMs?: number }): Promise<CellOutput> {
  const { cell, snapshot } = await currentCell(ctx, input, { seen: input.seen, ...(seenWaitMs === undefined ? {} : { waitMs: seenWaitMs }) });
  if (!isRowCellKind(cell.kind)) throw invalid(`a ${cell.kind} cell has no preview: only sql, ts and python cells run`, 'cellId');
  const names = await cellInputNames(cell);
  const scope = { projectId: input.projectId, environment: 'design' as const };
  const started = performance.now();
  const opts = { limit: input.limit, profile: true, timeoutMs: timeoutMs ?? PREVIEW_TIMEOUT_MS };
  // The inputs' states are read while the preview runs (one round trip less on the critical path);
  // a publish landing in between makes the output `stale` at once, which is the truth.
  const [inputs, result] = await Promise.all([
    inputStates(ctx.db, input.projectId, snapshot, names),
    byRowKind(cell.kind, {
      sql: () => previewSql(ctx.db, scope, { sql: cell.source, ...opts }),
      ts: () => previewTs(ctx.db, scope, { cellId: cell.id, source: cell.source, ...opts }),
      python: () => previewPython(ctx.db, scope, { cellId: cell.id, source: cell.source, ...opts }),
    }),
  ]);
  const elapsedMs = Math.round(performance.now() - started);

  const actor = ctx.actor?.type === 'user' ? { id: ctx.actor.userId as string, name: ctx.actor.name } : null;
  const base = {
    cellId: cell.id,
    outputId: randomUUID(),
    sourceHash: sha256(cell.source),
    inputsHash: inputs.hash,
    stale: false,
    staleReason: null,
    ranAt: new Date().toISOString(),
    ranBy: actor,
    elapsedMs,
    inputs: inputs.states,
  };
  const output: CellOutput = result.ok
    ? capOutput({
        ...base,
        status: 'ok',
        columns: result.columns,
        rows: result.rows,
        totalRows: result.totalRows,
        truncated: false,
        limited: result.rows.length < result.totalRows,
        profile: result.profile,
        error: null,
        ...sampledOf(result),
      })
    : { ...base, status: 'error', columns: [], rows: [], totalRows: null, truncated: false, limited: false, profile: null, error: errorOf(result, cell.source, inputs.states) };
  await storeOutput(ctx, input.notebookId, output, names);
  return output;
}

/** A ts preview's inputs read only in part (sql and python previews have none to report). */
function sampledOf(r: object): { sampledInputs?: string[] } {
  const names = 'sampledInputs' in r ? (r as { sampledInputs: string[] }).sampledInputs : [];
  return names.length > 0 ? { sampledInputs: names } : {};
}

function errorOf(f: SandboxFailure, source: string, inputs: CellOutput['inputs']): NonNullable<CellOutput['error']> {
  const at = f.offset === undefined ? null : lineColumnOf(source, f.offset);
  const unbuilt = inputs.filter((i) => i.state === 'unbuilt').map((i) => i.name);
  // The database says `relation "x" does not exist`; the user needs to know it is not built yet.
  const hint = unbuilt.length > 0 && f.reason === 'sql-error' ? ` (not built yet: ${unbuilt.join(', ')}; build the cells that write them first)` : '';
  return { message: `${f.message}${hint}`, line: at?.line ?? null, column: at?.column ?? null };
}

/** Keeps as many rows as fit in MAX_STORED_OUTPUT_BYTES, marking the output truncated when some did not. */
export function capOutput(output: CellOutput, maxBytes = MAX_STORED_OUTPUT_BYTES): CellOutput {
  const without = JSON.stringify({ ...output, rows: [] }).length;
  let budget = maxBytes - without;
  let keep = 0;
  for (const row of output.rows) {
    const size = JSON.stringify(row).length + 1;
    if (size > budget) break;
    budget -= size;
    keep++;
  }
  if (keep === output.rows.length) return output;
  return { ...output, rows: output.rows.slice(0, keep), truncated: true };
}

/**
 * Stores the output and, in the same transaction, the edit that points the cell at it; then hands
 * that edit to the live document, which sends it to every collaborator as the author's response
 * leaves. The author's browser writes no reference of its own (two writers of one key would race).
 */
async function storeOutput(ctx: ServiceCtx, notebookId: string, output: CellOutput, inputNames: string[]): Promise<void> {
  const { stale: _stale, staleReason: _reason, ...stored } = output;
  const ref = outputRefEdit(await currentNotebookState(ctx.db, ctx.liveNotebooks, notebookId), output.cellId, { outputId: output.outputId, ranAt: output.ranAt });
  await ctx.db.transaction(async (tx) => {
    if (ref) await appendUpdates(tx, notebookId, [ref]);
    await tx.insert(notebookCellOutputs).values({
      id: output.outputId,
      notebookId,
      cellId: output.cellId,
      status: output.status,
      sourceHash: output.sourceHash,
      inputsHash: output.inputsHash,
      inputNames,
      output: stored as Record<string, unknown>,
      elapsedMs: output.elapsedMs,
      ranBy: output.ranBy?.id ?? null,
      ranAt: new Date(output.ranAt),
    });
    const keep = await tx
      .select({ id: notebookCellOutputs.id })
      .from(notebookCellOutputs)
      .where(and(eq(notebookCellOutputs.notebookId, notebookId), eq(notebookCellOutputs.cellId, output.cellId)))
      .orderBy(desc(notebookCellOutputs.ranAt))
      .limit(KEEP_PER_CELL);
    await tx.delete(notebookCellOutputs).where(
      and(
        eq(notebookCellOutputs.notebookId, notebookId),
        eq(notebookCellOutputs.cellId, output.cellId),
        notInArray(
          notebookCellOutputs.id,
          keep.map((k) => k.id),
        ),
      ),
    );
  });
  if (ref) ctx.liveNotebooks?.applyStored(notebookId, ref);
}
