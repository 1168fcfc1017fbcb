import { z } from 'zod';

export const ProjectQueryBody = z.object({
  sql: z.string({ error: 'sql is required' }).min(1, 'sql is required').max(100_000, 'sql must be at most 100,000 characters'),
  limit: z.coerce.number({ error: 'limit must be a number' }).int('limit must be an integer').min(1, 'limit must be at least 1').max(10_000, 'limit must be at most 10000').default(1000),
});
