import { and, eq } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { notebookVersions } from '@/db/schema';
import { isCellKind, type CellId, type NotebookSnapshot } from '../../domain/notebook-doc';
import { chartSpecOf } from '../../pipeline/chart-spec';
import { notFound } from '../errors';

export type NotebookVersionRow = typeof notebookVersions.$inferSelect;

export async function requireVersion(db: DbOrTx, notebookId: string, versionId: string): Promise<NotebookVersionRow> {
  const [row] = await db
    .select()
    .from(notebookVersions)
    .where(and(eq(notebookVersions.id, versionId), eq(notebookVersions.notebookId, notebookId)));
  if (!row) throw notFound('version');
  return row;
}

/** The cells of a stored version, read defensively (kinds the code no longer knows become markdown). */
export function cellsOfVersion(row: NotebookVersionRow): NotebookSnapshot {
  return {
    cells: row.cellsJson.cells.map((c) => ({
      id: c.id as CellId,
      kind: isCellKind(c.kind) ? c.kind : 'markdown',
      source: c.source,
      collapsed: c.collapsed,
      ...(c.title ? { title: c.title } : {}),
      ...(chartSpecOf(c.chart) ? { chart: chartSpecOf(c.chart)! } : {}),
    })),
  };
}
