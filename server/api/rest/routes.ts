import { z } from 'zod';
import { auditActions } from '../../domain/audit-actions';
import { listAuditEvents, ListAuditInput } from '../../services/audit/list-audit-events';
import { getProject } from '../../services/projects/get-project';
import { getRun } from '../../services/runs/get-run';
import { listRuns } from '../../services/runs/list-runs';
import { BuildTargetSchema } from '../../services/builds/schemas';
import { startBuild } from '../../services/builds/start-build';
import { Uuid } from '../../services/teams/schemas';
import { bundleRoutes } from './bundle-routes';
import { datasetRoutes } from './dataset-routes';
import { modelRoutes } from './model-routes';
import { queryRoutes } from './query-routes';
import { getScenarioRun } from '../../services/scenarios/scenario-view';
import { ScenarioRunStep, scenarioRoutes } from './scenario-routes';
import { defineRoute, type RestRoute } from './route';

const ProjectParams = z.object({ projectId: Uuid('projectId') });
const RunParams = z.object({ projectId: Uuid('projectId'), runId: Uuid('runId') });

const Project = z.object({
  id: z.string(),
  teamId: z.string(),
  teamName: z.string(),
  name: z.string(),
  description: z.string(),
  createdAt: z.string(),
});
const Run = z.object({
  id: z.string(),
  projectId: z.string(),
  kind: z.string(),
  status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled', 'skipped']),
  workflowId: z.string(),
  createdAt: z.string(),
});
const AuditEvent = z.object({
  seq: z.number(),
  at: z.string(),
  /** description: a workflow actor in words ("build of Credit model (run 12)"), else null. */
  actor: z.object({ type: z.string(), id: z.string(), label: z.string(), description: z.string().nullable() }),
  action: z.enum(auditActions),
  /** name: resolved when read (null once the target is gone, or for types without a name). */
  target: z.object({ type: z.string(), id: z.string(), name: z.string().nullable() }),
  teamId: z.string().nullable(),
  projectId: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  hash: z.string(),
});

export const StartBuildBody = z.object({ notebookId: Uuid('notebookId'), target: BuildTargetSchema.default({ kind: 'all' }) });

export const restRoutes: RestRoute[] = [
  defineRoute({
    method: 'GET',
    path: '/api/v1/projects/{projectId}',
    operationId: 'getProject',
    summary: 'A project',
    tags: ['projects'],
    policy: { kind: 'member', role: 'viewer', scope: 'read' },
    params: ProjectParams,
    response: Project,
    handler: ({ ctx, params }) => getProject({ ctx, input: params }),
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/audit',
    operationId: 'listAuditEvents',
    summary: 'Audit events of a team or project, newest first, with cursor pagination',
    tags: ['audit'],
    policy: { kind: 'member', role: 'viewer', scope: 'read' },
    query: ListAuditInput,
    response: z.object({ events: z.array(AuditEvent), nextCursor: z.number().nullable() }),
    handler: ({ ctx, query }) => listAuditEvents({ ctx, input: query }),
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/projects/{projectId}/builds',
    operationId: 'startBuild',
    summary: "Build a notebook's pipeline in design (all cells, one cell, or one cell and what depends on it); follow it at /runs/{runId}",
    tags: ['runs'],
    policy: { kind: 'member', role: 'editor', scope: 'run' },
    params: ProjectParams,
    body: StartBuildBody,
    response: z.object({ runId: z.string(), skipped: z.array(z.object({ cellId: z.string() }).loose()) }),
    successStatus: 202,
    handler: ({ ctx, params, body }) => startBuild({ ctx, input: { projectId: params.projectId, notebookId: body.notebookId, target: body.target } }),
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/projects/{projectId}/runs',
    operationId: 'listRuns',
    summary: 'Recent runs of a project',
    tags: ['runs'],
    policy: { kind: 'member', role: 'viewer', scope: 'read' },
    params: ProjectParams,
    query: z.object({ limit: z.coerce.number({ error: 'limit must be a number' }).int().min(1).max(200).default(50) }),
    response: z.array(Run),
    handler: ({ ctx, params, query }) => listRuns({ ctx, input: { projectId: params.projectId, limit: query.limit } }),
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/projects/{projectId}/runs/{runId}',
    operationId: 'getRun',
    summary: 'A run with its steps. Scenario runs (kind `scenario`) add the scenario, its trigger and bundle hash, and steps with status, log, output and timing.',
    tags: ['runs'],
    policy: { kind: 'member', role: 'viewer', scope: 'read' },
    params: RunParams,
    response: Run.extend({
      steps: z.array(z.union([z.object({ step: z.string(), completedAt: z.string() }), ScenarioRunStep])),
      scenario: z.string().optional(),
      trigger: z.object({ kind: z.string(), detail: z.record(z.string(), z.unknown()).optional(), firedAt: z.string().optional() }).optional(),
      bundleHash: z.string().nullable().optional(),
    }),
    handler: async ({ ctx, params }) => {
      const run = await getRun({ ctx, input: params });
      if (run.kind !== 'scenario') return run;
      const view = await getScenarioRun({ ctx, input: params });
      return { ...run, scenario: view.scenario, trigger: view.trigger, bundleHash: view.bundleHash, steps: view.steps };
    },
  }),
  ...datasetRoutes,
  ...modelRoutes,
  ...bundleRoutes,
  ...scenarioRoutes,
  ...queryRoutes,
];
