import { z } from 'zod';
import { getRun } from '../../services/runs/get-run';
import { listRuns } from '../../services/runs/list-runs';
import { Uuid } from '../../services/teams/schemas';
import { procedure, router } from '../trpc';

export const RunRef = z.object({ projectId: Uuid('projectId'), runId: Uuid('runId') });
export const ListRunsInput = z.object({ projectId: Uuid('projectId'), limit: z.coerce.number().int().min(1).max(200).default(50) });

export const runsRouter = router({
  get: procedure.meta({ policy: { kind: 'member', role: 'viewer', scope: 'read' } }).input(RunRef).query(({ ctx, input }) => getRun({ ctx, input })),
  list: procedure.meta({ policy: { kind: 'member', role: 'viewer', scope: 'read' } }).input(ListRunsInput).query(({ ctx, input }) => listRuns({ ctx, input })),
});
