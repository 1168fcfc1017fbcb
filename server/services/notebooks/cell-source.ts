import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { and, eq, inArray } from 'drizzle-orm';
import * as Y from 'yjs';
import type { DbOrTx } from '@/db/client';
import { datasets, type Environment } from '@/db/schema';
import { parseNameList, readHeaders } from '@/server/pipeline/headers';
import { analyzeSelect, loadSqlParser } from '@/server/pipeline/sql';
import { notebookSnapshot, type CellSnapshot, type NotebookSnapshot } from '../../domain/notebook-doc';
import type { ServiceCtx } from '../context';
import { invalid, notFound, preconditionFailed } from '../errors';
import { currentNotebookState, withDoc } from './live';
import { requireNotebook } from './notebook-rows';
import type { InputState } from './output-types';

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** How long a Run waits for the runner's own edits to reach this server before saying so. */
export const SEEN_WAIT_MS = 10_000;

/** What a caller had seen of the notebook: a base64 Yjs state vector (see RunCellInput's `seen`). */
export type SeenOptions = { seen?: string | undefined; waitMs?: number };

function decodeSeen(seen: string): Map<number, number> {
  try {
    return Y.decodeStateVector(Buffer.from(seen, 'base64'));
  } catch {
    throw invalid('seen is not a Yjs state vector', 'seen');
  }
}

/** True when a document with state vector `have` holds every edit counted in `need`. */
function covers(have: Map<number, number>, need: Map<number, number>): boolean {
  for (const [client, clock] of need) if ((have.get(client) ?? 0) < clock) return false;
  return true;
}

/**
 * The notebook as the collaboration server holds it (the live document when loaded in this process,
 * else storage): a preview runs what everyone sees, never a source sent by the client. With `seen`,
 * first waits until that copy holds every edit the caller had seen: an edit travels on the collab
 * socket and Run on HTTP, so a Run pressed right after typing can otherwise overtake the typing and
 * run the text from before it (most often on a loaded machine).
 */
export async function currentSnapshot(ctx: ServiceCtx, ref: { projectId: string; notebookId: string }, opts: SeenOptions = {}): Promise<NotebookSnapshot> {
  const notebook = await requireNotebook(ctx.db, ref.projectId, ref.notebookId);
  const need = opts.seen ? decodeSeen(opts.seen) : null;
  const deadline = Date.now() + (opts.waitMs ?? SEEN_WAIT_MS);
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    const state = await currentNotebookState(ctx.db, ctx.liveNotebooks, notebook.id);
    if (!need || covers(Y.decodeStateVector(Y.encodeStateVectorFromUpdate(state)), need)) return withDoc(state, notebookSnapshot);
    if (Date.now() >= deadline) {
      throw preconditionFailed('your latest edits have not reached the server yet (is the notebook connected?): run the cell again in a moment');
    }
    await sleep(delay);
  }
}

export async function currentCell(ctx: ServiceCtx, ref: { projectId: string; notebookId: string; cellId: string }, opts: SeenOptions = {}): Promise<{ cell: CellSnapshot; snapshot: NotebookSnapshot }> {
  const snapshot = await currentSnapshot(ctx, ref, opts);
  const cell = snapshot.cells.find((c) => c.id === ref.cellId);
  if (!cell) throw notFound('cell');
  return { cell, snapshot };
}

/** The datasets a cell reads: a SQL cell's table references (CTEs excluded), a ts cell's `// inputs:`. */
export async function cellInputNames(cell: Pick<CellSnapshot, 'kind' | 'source'>): Promise<string[]> {
  if (cell.kind === 'sql') {
    await loadSqlParser();
    if (cell.source.trim() === '') return [];
    return [...new Set(analyzeSelect(cell.source).reads.filter((r) => !r.schema).map((r) => r.name))].sort();
  }
  if (cell.kind === 'ts' || cell.kind === 'python') {
    const h = readHeaders(cell.source, cell.kind === 'ts' ? '//' : '#').get('inputs');
    return h ? [...new Set(parseNameList(h).names.map((n) => n.name))].sort() : [];
  }
  return [];
}

type InputRow = { name: string; kind: 'source' | 'built'; fingerprint: string; updatedAt: Date };

async function inputRows(db: DbOrTx, projectId: string, environment: Environment, names: string[]): Promise<Map<string, InputRow>> {
  if (names.length === 0) return new Map();
  const rows = await db
    .select({ name: datasets.name, kind: datasets.kind, fingerprint: datasets.fingerprint, updatedAt: datasets.updatedAt })
    .from(datasets)
    .where(and(eq(datasets.projectId, projectId), eq(datasets.environment, environment), inArray(datasets.name, names)));
  return new Map(rows.map((r) => [r.name, r]));
}

/** sha256 over the inputs' names and data fingerprints: it changes when any input's data does. */
export function inputsHashOf(names: string[], rows: Map<string, { fingerprint: string }>): string {
  return sha256(JSON.stringify([...names].sort().map((n) => [n, rows.get(n)?.fingerprint ?? null])));
}

export async function currentInputsHash(db: DbOrTx, projectId: string, names: string[]): Promise<string> {
  return inputsHashOf(names, await inputRows(db, projectId, 'design', names));
}

/**
 * The state of each input in the design environment: `unbuilt` when no table exists yet (the preview
 * then fails on that name, and says so), `stale` when it is built by a cell of this notebook and a
 * dataset that cell reads changed after it was last built (the preview reads it as it is), else `built`.
 */
export async function inputStates(
  db: DbOrTx,
  projectId: string,
  snapshot: NotebookSnapshot,
  names: string[],
): Promise<{ states: { name: string; state: InputState }[]; hash: string }> {
  const rows = await inputRows(db, projectId, 'design', names);
  const writers = new Map<string, CellSnapshot>();
  for (const c of snapshot.cells) {
    const written = writtenBy(c);
    if (written) writers.set(written, c);
  }
  const upstreamNames = new Set<string>();
  const upstreamOf = new Map<string, string[]>();
  for (const n of names) {
    const w = writers.get(n);
    if (!w || rows.get(n)?.kind !== 'built') continue;
    const ups = await cellInputNames(w);
    upstreamOf.set(n, ups);
    ups.forEach((u) => upstreamNames.add(u));
  }
  const upstream = await inputRows(db, projectId, 'design', [...upstreamNames]);
  const states = names.map((name) => {
    const row = rows.get(name);
    if (!row) return { name, state: 'unbuilt' as const };
    const newer = (upstreamOf.get(name) ?? []).some((u) => {
      const up = upstream.get(u);
      return up !== undefined && up.updatedAt.getTime() > row.updatedAt.getTime();
    });
    return { name, state: newer ? ('stale' as const) : ('built' as const) };
  });
  return { states, hash: inputsHashOf(names, rows) };
}

function writtenBy(cell: CellSnapshot): string | null {
  if (cell.kind === 'sql') return readHeaders(cell.source, '--').get('writes')?.value.trim() || null;
  if (cell.kind === 'ts') return readHeaders(cell.source, '//').get('output')?.value.trim() || null;
  if (cell.kind === 'python') return readHeaders(cell.source, '#').get('output')?.value.trim() || null;
  return null;
}

/** A character index in `source` as a 1-based line and column. */
export function lineColumnOf(source: string, offset: number): { line: number; column: number } {
  const before = source.slice(0, Math.max(0, Math.min(offset, source.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: (lines[lines.length - 1]?.length ?? 0) + 1 };
}
