import { and, eq, isNull } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { notebooks, projects } from '@/db/schema';
import { notFound } from '../errors';

export type NotebookRow = typeof notebooks.$inferSelect;

/** A notebook of that project that is not deleted, or NotFound (a deleted notebook is gone for users). */
export async function requireNotebook(db: DbOrTx, projectId: string, notebookId: string, opts: { lock?: boolean } = {}): Promise<NotebookRow> {
  const q = db
    .select()
    .from(notebooks)
    .where(and(eq(notebooks.id, notebookId), eq(notebooks.projectId, projectId), isNull(notebooks.deletedAt)));
  const [row] = opts.lock ? await q.for('update') : await q;
  if (!row) throw notFound('notebook');
  return row;
}

export async function isNameTaken(db: DbOrTx, projectId: string, name: string): Promise<boolean> {
  const [row] = await db
    .select({ id: notebooks.id })
    .from(notebooks)
    .where(and(eq(notebooks.projectId, projectId), eq(notebooks.name, name), isNull(notebooks.deletedAt)));
  return row !== undefined;
}

export async function teamOf(db: DbOrTx, projectId: string): Promise<string | null> {
  const [row] = await db.select({ teamId: projects.teamId }).from(projects).where(eq(projects.id, projectId));
  return row?.teamId ?? null;
}

/** True for Postgres' unique violation (23505), however the driver or drizzle wraps it. */
export function isUniqueViolation(err: unknown): boolean {
  for (let e = err; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === '23505') return true;
  }
  return false;
}
