import { cancelBuild } from '../../services/builds/cancel-build';
import { getBuild } from '../../services/builds/get-build';
import { listBuilds } from '../../services/builds/list-builds';
import { BuildRef, ListBuildsInput, StartBuildInput } from '../../services/builds/schemas';
import { startBuild } from '../../services/builds/start-build';
import { procedure, router } from '../trpc';

const read = { kind: 'member', role: 'viewer', scope: 'read' } as const;
const run = { kind: 'member', role: 'editor', scope: 'run' } as const;

/** Design-time builds of a notebook's pipeline: Temporal workflows `build-<runId>`. */
export const buildsRouter = router({
  start: procedure.meta({ policy: run }).input(StartBuildInput).mutation(({ ctx, input }) => startBuild({ ctx, input })),
  get: procedure.meta({ policy: read }).input(BuildRef).query(({ ctx, input }) => getBuild({ ctx, input })),
  list: procedure.meta({ policy: read }).input(ListBuildsInput).query(({ ctx, input }) => listBuilds({ ctx, input })),
  cancel: procedure.meta({ policy: run }).input(BuildRef).mutation(({ ctx, input }) => cancelBuild({ ctx, input })),
});
