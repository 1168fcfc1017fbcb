import { z } from 'zod';
import { NotebookRef } from '../notebooks/schemas';
import { Uuid } from '../teams/schemas';

const CellIdField = z.string({ error: 'cellId is required' }).min(1, 'cellId is required').max(200, 'cellId must be at most 200 characters');

export const BuildTargetSchema = z.discriminatedUnion(
  'kind',
  [
    z.object({ kind: z.literal('all') }),
    z.object({ kind: z.literal('cell'), cellId: CellIdField }),
    z.object({ kind: z.literal('downstream'), cellId: CellIdField }),
  ],
  { error: 'target must be {kind: "all"}, {kind: "cell", cellId} or {kind: "downstream", cellId}' },
);

export const StartBuildInput = NotebookRef.extend({ target: BuildTargetSchema.default({ kind: 'all' }) });
export const BuildRef = z.object({ projectId: Uuid('projectId'), runId: Uuid('runId') });
export const ListBuildsInput = z.object({
  projectId: Uuid('projectId'),
  notebookId: Uuid('notebookId').optional(),
  limit: z.coerce.number({ error: 'limit must be a number' }).int().min(1, 'limit must be at least 1').max(200, 'limit must be at most 200').default(50),
});
