import { and, eq } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { datasets, type Environment } from '@/db/schema';
import { notFound } from '../errors';

export async function findDataset(db: DbOrTx, ref: { projectId: string; environment: Environment; name: string }, opts: { forUpdate?: boolean } = {}) {
  const q = db
    .select()
    .from(datasets)
    .where(and(eq(datasets.projectId, ref.projectId), eq(datasets.environment, ref.environment), eq(datasets.name, ref.name)));
  const [row] = opts.forUpdate ? await q.for('update') : await q;
  if (!row) throw notFound(`dataset "${ref.name}" (${ref.environment})`);
  return row;
}
