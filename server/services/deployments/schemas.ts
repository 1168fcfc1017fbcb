import { z } from 'zod';
import { BundleHashSchema } from '../bundles/schemas';
import { Uuid } from '../teams/schemas';

const Reason = z.string({ error: 'reason is required' }).trim().min(1, 'reason is required: say why').max(2000, 'reason must be at most 2000 characters');

export const DeployBundleInput = z.object({ projectId: Uuid('projectId'), bundleHash: BundleHashSchema, reason: Reason });
export const RollbackInput = z.object({
  projectId: Uuid('projectId'),
  /** The bundle to go back to; omitted: the one active before the current deployment. */
  bundleHash: BundleHashSchema.optional(),
  reason: Reason,
});
export const ListDeploymentsInput = z.object({
  projectId: Uuid('projectId'),
  limit: z.coerce.number({ error: 'limit must be a number' }).int('limit must be a whole number').min(1, 'limit must be at least 1').max(200, 'limit must be at most 200').default(50),
});
