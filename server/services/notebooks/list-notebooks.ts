import { and, asc, eq, isNull } from 'drizzle-orm';
import type { z } from 'zod';
import { notebooks, users } from '@/db/schema';
import type { ServiceCtx } from '../context';
import type { ListNotebooksInput } from './schemas';

export async function listNotebooks({ ctx, input }: { ctx: ServiceCtx; input: z.infer<typeof ListNotebooksInput> }) {
  return ctx.db
    .select({
      id: notebooks.id,
      projectId: notebooks.projectId,
      name: notebooks.name,
      createdAt: notebooks.createdAt,
      updatedAt: notebooks.updatedAt,
      createdBy: { id: users.id, name: users.name },
    })
    .from(notebooks)
    .leftJoin(users, eq(users.id, notebooks.createdBy))
    .where(and(eq(notebooks.projectId, input.projectId), isNull(notebooks.deletedAt)))
    .orderBy(asc(notebooks.name));
}
