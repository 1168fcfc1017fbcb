import { apiKeysRouter } from './routers/api-keys';
import { auditRouter } from './routers/audit';
import { authRouter } from './routers/auth';
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
  system: systemRouter,
});
export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
