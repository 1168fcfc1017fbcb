import { z } from 'zod';
import { Uuid } from '../teams/schemas';

export const CreateProjectInput = z.object({
  teamId: Uuid('teamId'),
  name: z.string().trim().min(1, 'name is required').max(80, 'name must be at most 80 characters'),
  description: z.string().max(2000, 'description must be at most 2000 characters').default(''),
});
export const ProjectRef = z.object({ projectId: Uuid('projectId') });
