import { apiKeysRouter } from './routers/api-keys';
import { auditRouter } from './routers/audit';
import { authRouter } from './routers/auth';
import { buildsRouter } from './routers/builds';
import { bundlesRouter } from './routers/bundles';
import { datasetsRouter } from './routers/datasets';
import { deploymentsRouter } from './routers/deployments';
import { endpointsRouter } from './routers/endpoints';
import { modelsRouter } from './routers/models';
import { notebooksRouter } from './routers/notebooks';
import { notificationsRouter } from './routers/notifications';
import { pipelineRouter } from './routers/pipeline';
import { projectsRouter } from './routers/projects';
import { runsRouter } from './routers/runs';
import { scenariosRouter } from './routers/scenarios';
import { scoringRouter } from './routers/scoring';
import { searchRouter } from './routers/search';
import { systemRouter } from './routers/system';
import { teamsRouter } from './routers/teams';
import { createCallerFactory, router } from './trpc';

export const appRouter = router({
  auth: authRouter,
  teams: teamsRouter,
  projects: projectsRouter,
  apiKeys: apiKeysRouter,
  audit: auditRouter,
  runs: runsRouter,
  datasets: datasetsRouter,
  notebooks: notebooksRouter,
  pipeline: pipelineRouter,
  builds: buildsRouter,
  models: modelsRouter,
  endpoints: endpointsRouter,
  scoring: scoringRouter,
  bundles: bundlesRouter,
  deployments: deploymentsRouter,
  notifications: notificationsRouter,
  scenarios: scenariosRouter,
  system: systemRouter,
  search: searchRouter,
});
export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
