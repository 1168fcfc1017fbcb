import { createProject } from '../../services/projects/create-project';
import { getProject } from '../../services/projects/get-project';
import { listProjects } from '../../services/projects/list-projects';
import { getPythonRequirements, SetPythonRequirementsInput, setPythonRequirements } from '../../services/projects/python-requirements';
import { CreateProjectInput, ProjectRef } from '../../services/projects/schemas';
import { TeamRef } from '../../services/teams/schemas';
import { policies, procedure, router } from '../trpc';

export const projectsRouter = router({
  list: procedure.meta({ policy: policies.viewer }).input(TeamRef).query(({ ctx, input }) => listProjects({ ctx, input })),
  create: procedure.meta({ policy: policies.editor }).input(CreateProjectInput).mutation(({ ctx, input }) => createProject({ ctx, input })),
  get: procedure.meta({ policy: policies.viewer }).input(ProjectRef).query(({ ctx, input }) => getProject({ ctx, input })),
  pythonRequirements: procedure.meta({ policy: policies.viewer }).input(ProjectRef).query(({ ctx, input }) => getPythonRequirements({ ctx, input })),
  /** Requirements apply to the project's production runs at once (they are not in bundles): deployers. */
  setPythonRequirements: procedure
    .meta({ policy: policies.deployer })
    .input(SetPythonRequirementsInput)
    .mutation(({ ctx, input }) => setPythonRequirements({ ctx, input })),
});
