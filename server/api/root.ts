import { apiKeysRouter } from './routers/api-keys';
import { auditRouter } from './routers/audit';
import { authRouter } from './routers/auth';
import { datasetsRouter } from './routers/datasets';
import { notebooksRouter } from './routers/notebooks';
import { projectsRouter } from './routers/projects';
import { runsRouter } from './routers/runs';
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
  system: systemRouter,
});
export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
