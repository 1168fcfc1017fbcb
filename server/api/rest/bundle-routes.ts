import { z } from 'zod';
import { MAX_ARCHIVE_BYTES } from '../../services/bundles/archive';
import { exportBundle } from '../../services/bundles/export-bundle';
import { importBundle } from '../../services/bundles/import-bundle';
import { listBundles } from '../../services/bundles/list-bundles';
import { promoteBundle } from '../../services/bundles/promote-bundle';
import { BundleHashSchema, ListBundlesInput, PromoteBundleInput } from '../../services/bundles/schemas';
import { deployBundle, listDeployments, rollbackDeployment } from '../../services/activation/deploy-bundle';
import { ListDeploymentsInput } from '../../services/deployments/schemas';
import { Uuid } from '../../services/teams/schemas';
import { defineRoute, type RestRoute } from './route';

const ProjectParams = z.object({ projectId: Uuid('projectId') });
const read = { kind: 'member', role: 'viewer', scope: 'read' } as const;
/** Editors, or CI/CD with a `deploy` key: export and import (the target instance's deployers then deploy). */
const promoter = { kind: 'member', role: 'editor', scope: 'deploy' } as const;
const deployer = { kind: 'member', role: 'deployer', scope: 'deploy' } as const;

const Bundle = z.object({
  hash: z.string(),
  projectId: z.string(),
  origin: z.enum(['promote', 'import']),
  notebookId: z.string().nullable(),
  releaseNotes: z.string(),
  builtOverFailure: z.boolean(),
  sizeBytes: z.number().int(),
  createdBy: z.string(),
  createdAt: z.string(),
  graphHash: z.string(),
  models: z.array(z.object({ name: z.string(), version: z.number().int(), artifactSha256: z.string() })),
  endpoints: z.array(z.object({ name: z.string(), model: z.string() })),
  cellCount: z.number().int(),
  scenarioCount: z.number().int(),
  active: z.boolean(),
});
const Deployment = z.object({
  id: z.string(),
  projectId: z.string(),
  bundleHash: z.string(),
  environment: z.literal('production'),
  kind: z.enum(['deploy', 'rollback']),
  activatedBy: z.string(),
  reason: z.string(),
  activatedAt: z.string(),
  deactivatedAt: z.string().nullable(),
  active: z.boolean(),
  releaseNotes: z.string(),
});
const Activation = z.object({
  deployment: Deployment,
  changed: z.boolean(),
  endpoints: z.array(z.object({ name: z.string(), change: z.enum(['create', 'update', 'delete', 'unchanged']), model: z.string().nullable(), version: z.number().int().nullable() })),
  /** Work after commit (Temporal Schedules and dataset watchers). `failed`: the bundle is active but that is stale; deploy it again to retry. */
  afterCommit: z.array(z.object({ name: z.string(), status: z.enum(['ok', 'skipped', 'failed']), message: z.string().optional(), details: z.record(z.string(), z.unknown()).optional() })),
});
const Reason = z.string({ error: 'reason is required' }).trim().min(1, 'reason is required: say why').max(2000, 'reason must be at most 2000 characters');
export const PromoteBody = PromoteBundleInput.omit({ projectId: true });
export const DeployBody = z.object({ bundleHash: BundleHashSchema, reason: Reason });
export const RollbackBody = z.object({ bundleHash: BundleHashSchema.optional(), reason: Reason });

export const bundleRoutes: RestRoute[] = [
  defineRoute({
    method: 'GET',
    path: '/api/v1/projects/{projectId}/bundles',
    operationId: 'listBundles',
    summary: "A project's bundles, newest first",
    tags: ['bundles'],
    policy: read,
    params: ProjectParams,
    query: ListBundlesInput.omit({ projectId: true }),
    response: z.array(Bundle),
    handler: ({ ctx, params, query }) => listBundles({ ctx, input: { ...params, ...query } }),
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/projects/{projectId}/bundles',
    operationId: 'promoteBundle',
    summary: "Promote a notebook's current state to an immutable bundle (same content: the existing bundle, created false). 412 when it does not compile or the last build failed without confirmFailedBuild. Key scope: deploy.",
    tags: ['bundles'],
    policy: promoter,
    params: ProjectParams,
    body: PromoteBody,
    response: z.object({ bundle: Bundle, created: z.boolean() }),
    handler: ({ ctx, params, body }) => promoteBundle({ ctx, input: { ...params, ...body } }),
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/projects/{projectId}/bundles/{hash}/export',
    operationId: 'exportBundle',
    summary: 'Export a bundle as one file (a gzipped tar: bundle.json, manifest.json, artifacts/<sha256>) to import into another Stagebook. Key scope: deploy.',
    tags: ['bundles'],
    policy: promoter,
    params: ProjectParams.extend({ hash: BundleHashSchema }),
    response: z.unknown(),
    rawResponse: { contentType: 'application/octet-stream', description: 'The bundle file (gzipped tar)' },
    handler: async ({ ctx, params }) => (await exportBundle({ ctx, input: params })).bytes,
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/projects/{projectId}/bundles/import',
    operationId: 'importBundle',
    summary: 'Import an exported bundle file; creates the model versions it names that the project lacks. Key scope: deploy.',
    tags: ['bundles'],
    policy: promoter,
    params: ProjectParams,
    rawBody: {
      contentTypes: ['application/octet-stream', 'application/gzip'],
      description: `A file from exportBundle (at most ${MAX_ARCHIVE_BYTES / 1024 / 1024} MiB unpacked). Every sha256 and size is verified before anything is stored: a truncated or altered file is refused with a 400 naming what failed, and nothing changes.`,
    },
    response: z.object({ bundle: Bundle, created: z.boolean(), modelVersionsCreated: z.array(z.object({ model: z.string(), version: z.number().int(), artifactSha256: z.string() })) }),
    successStatus: 201,
    handler: ({ ctx, params, raw }) => importBundle({ ctx, input: params, body: raw! }),
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/projects/{projectId}/deployments',
    operationId: 'listDeployments',
    summary: "A project's deployment history, newest first",
    tags: ['deployments'],
    policy: read,
    params: ProjectParams,
    query: ListDeploymentsInput.omit({ projectId: true }),
    response: z.array(Deployment),
    handler: ({ ctx, params, query }) => listDeployments({ ctx, input: { ...params, ...query } }),
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/projects/{projectId}/deployments',
    operationId: 'deployBundle',
    summary: "Deploy a bundle to the project's production (endpoints switch atomically). Key scope: deploy.",
    tags: ['deployments'],
    policy: deployer,
    params: ProjectParams,
    body: DeployBody,
    response: Activation,
    handler: ({ ctx, params, body }) => deployBundle({ ctx, input: { ...params, ...body } }),
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/projects/{projectId}/deployments/rollback',
    operationId: 'rollbackDeployment',
    summary: 'Re-activate an earlier bundle (default: the one before the current deployment). Key scope: deploy.',
    tags: ['deployments'],
    policy: deployer,
    params: ProjectParams,
    body: RollbackBody,
    response: Activation,
    handler: ({ ctx, params, body }) => rollbackDeployment({ ctx, input: { ...params, ...body } }),
  }),
];
