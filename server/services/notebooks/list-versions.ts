import { desc, eq } from 'drizzle-orm';
import type { z } from 'zod';
import { notebookVersions, users } from '@/db/schema';
import type { ServiceCtx } from '../context';
import { requireNotebook } from './notebook-rows';
import type { ListVersionsInput } from './schemas';

/** Newest first; without the stored states (diff or restore fetch those by id). */
export async function listVersions({ ctx, input }: { ctx: ServiceCtx; input: z.infer<typeof ListVersionsInput> }) {
  const notebook = await requireNotebook(ctx.db, input.projectId, input.notebookId);
  return ctx.db
    .select({
      id: notebookVersions.id,
      message: notebookVersions.message,
      createdAt: notebookVersions.createdAt,
      createdBy: { id: users.id, name: users.name },
    })
    .from(notebookVersions)
    .leftJoin(users, eq(users.id, notebookVersions.createdBy))
    .where(eq(notebookVersions.notebookId, notebook.id))
    .orderBy(desc(notebookVersions.createdAt), desc(notebookVersions.id))
    .limit(input.limit);
}
