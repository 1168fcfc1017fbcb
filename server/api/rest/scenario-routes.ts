import { z } from 'zod';
import { runScenario } from '../../services/scenarios/run-scenario';
import { ScenarioName } from '../../services/scenarios/schemas';
import { Uuid } from '../../services/teams/schemas';
import { defineRoute, type RestRoute } from './route';

const ScenarioParams = z.object({ projectId: Uuid('projectId'), name: ScenarioName });

export const ScenarioRunStep = z.object({
  index: z.number().int(),
  type: z.string(),
  name: z.string(),
  status: z.enum(['pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled']),
  attempt: z.number().int(),
  log: z.array(z.string()),
  output: z.record(z.string(), z.unknown()).nullable(),
  error: z.string().nullable(),
  childRunId: z.string().nullable(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  durationMs: z.number().nullable(),
});

export const scenarioRoutes: RestRoute[] = [
  defineRoute({
    method: 'POST',
    path: '/api/v1/projects/{projectId}/scenarios/{name}/runs',
    operationId: 'runScenario',
    summary:
      "Run a scenario of the project's production now (the manual trigger). 202 with the run; status `skipped` (with the reason) when its overlap policy refused it. Poll GET /api/v1/projects/{projectId}/runs/{runId}. Key scope: run.",
    tags: ['scenarios'],
    policy: { kind: 'member', role: 'deployer', scope: 'run' },
    params: ScenarioParams,
    response: z.object({ runId: z.string(), workflowId: z.string(), status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled', 'skipped']), reason: z.string().nullable() }),
    successStatus: 202,
    handler: ({ ctx, params }) => runScenario({ ctx, input: { projectId: params.projectId, scenario: params.name } }),
  }),
];
