import { z } from 'zod';
import { NotebookRef } from '../notebooks/schemas';
import { Uuid } from '../teams/schemas';

export const BundleHashSchema = z.string({ error: 'hash is required' }).regex(/^[0-9a-f]{64}$/, { error: 'hash must be a bundle hash (64 lowercase hex digits)' });

export const PreviewBundleInput = NotebookRef;
export const PromoteBundleInput = NotebookRef.extend({
  releaseNotes: z.string({ error: 'releaseNotes is required' }).trim().min(1, 'releaseNotes is required: say what changed and why').max(20_000, 'releaseNotes must be at most 20,000 characters'),
  /** Required to promote over a failed, unfinished or missing design build; recorded on the bundle. */
  confirmFailedBuild: z.boolean({ error: 'confirmFailedBuild must be true or false' }).default(false),
});
export const ListBundlesInput = z.object({
  projectId: Uuid('projectId'),
  limit: z.coerce.number({ error: 'limit must be a number' }).int('limit must be a whole number').min(1, 'limit must be at least 1').max(200, 'limit must be at most 200').default(50),
});
export const BundleRef = z.object({ projectId: Uuid('projectId'), hash: BundleHashSchema });
