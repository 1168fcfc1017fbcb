import { z } from 'zod';
import { Uuid } from '../teams/schemas';

export const ScenarioName = z.string({ error: 'scenario is required' }).regex(/^[a-z][a-z0-9_-]{0,62}$/, { error: 'scenario must be a scenario name (lowercase, a-z, 0-9, _ and -)' });
const Limit = z.coerce.number({ error: 'limit must be a number' }).int('limit must be a whole number').min(1, 'limit must be at least 1').max(200, 'limit must be at most 200').default(50);

export const ListScenariosInput = z.object({ projectId: Uuid('projectId') });
export const RunScenarioInput = z.object({ projectId: Uuid('projectId'), scenario: ScenarioName });
export const ListScenarioRunsInput = z.object({ projectId: Uuid('projectId'), scenario: ScenarioName.optional(), limit: Limit });
export const ScenarioRunRef = z.object({ projectId: Uuid('projectId'), runId: Uuid('runId') });
export const SetScenarioEnabledInput = z.object({
  projectId: Uuid('projectId'),
  scenario: ScenarioName,
  enabled: z.boolean({ error: 'enabled must be true or false' }),
  reason: z.string({ error: 'reason must be text' }).trim().max(500, 'reason must be at most 500 characters').optional(),
});
