import { z } from 'zod';
import { getRun } from '../../services/runs/get-run';
import { listRuns } from '../../services/runs/list-runs';
import { startHelloRun } from '../../services/runs/start-hello-run';
import { Uuid } from '../../services/teams/schemas';
import { procedure, router } from '../trpc';

export const StartHelloRunInput = z.object({
  projectId: Uuid('projectId'),
  message: z.string().trim().min(1, 'message is required').max(500, 'message must be at most 500 characters'),
  stepDelayMs: z.number().int().min(0).max(60_000).optional(),
});
export const RunRef = z.object({ projectId: Uuid('projectId'), runId: Uuid('runId') });
export const ListRunsInput = z.object({ projectId: Uuid('projectId'), limit: z.coerce.number().int().min(1).max(200).default(50) });

export const runsRouter = router({
  startHello: procedure
    .meta({ policy: { kind: 'member', role: 'editor', scope: 'run' } })
    .input(StartHelloRunInput)
    .mutation(({ ctx, input }) => startHelloRun({ ctx, input })),
  get: procedure.meta({ policy: { kind: 'member', role: 'viewer', scope: 'read' } }).input(RunRef).query(({ ctx, input }) => getRun({ ctx, input })),
  list: procedure.meta({ policy: { kind: 'member', role: 'viewer', scope: 'read' } }).input(ListRunsInput).query(({ ctx, input }) => listRuns({ ctx, input })),
});
