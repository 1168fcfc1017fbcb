import { createProject } from '../../services/projects/create-project';
import { getProject } from '../../services/projects/get-project';
import { listProjects } from '../../services/projects/list-projects';
import { CreateProjectInput, ProjectRef } from '../../services/projects/schemas';
import { TeamRef } from '../../services/teams/schemas';
import { policies, procedure, router } from '../trpc';

export const projectsRouter = router({
  list: procedure.meta({ policy: policies.viewer }).input(TeamRef).query(({ ctx, input }) => listProjects({ ctx, input })),
  create: procedure.meta({ policy: policies.editor }).input(CreateProjectInput).mutation(({ ctx, input }) => createProject({ ctx, input })),
  get: procedure.meta({ policy: policies.viewer }).input(ProjectRef).query(({ ctx, input }) => getProject({ ctx, input })),
});
