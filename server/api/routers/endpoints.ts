import { CreateEndpointInput, EndpointRef, EndpointStatsInput, ListEndpointsInput, ShadowComparisonInput, UpdateEndpointInput } from '../../services/endpoints/schemas';
import { createEndpoint } from '../../services/endpoints/create-endpoint';
import { deleteEndpoint } from '../../services/endpoints/delete-endpoint';
import { endpointStats } from '../../services/endpoints/endpoint-stats';
import { getEndpoint, listEndpoints } from '../../services/endpoints/list-endpoints';
import { shadowComparison } from '../../services/endpoints/shadow-comparison';
import { updateEndpoint } from '../../services/endpoints/update-endpoint';
import { computeDrift } from '../../services/drift/compute-drift';
import { endpointDrift } from '../../services/drift/endpoint-drift';
import { ComputeDriftInput, EndpointDriftInput } from '../../services/drift/schemas';
import { procedure, router } from '../trpc';

const read = { kind: 'member', role: 'viewer', scope: 'read' } as const;
const deployer = { kind: 'member', role: 'deployer' } as const;

/** Real-time scoring endpoints; requests go to `POST /api/v1/endpoints/{name}/predict` or `scoring.predict`. */
export const endpointsRouter = router({
  list: procedure.meta({ policy: read }).input(ListEndpointsInput).query(({ ctx, input }) => listEndpoints({ ctx, input })),
  get: procedure.meta({ policy: read }).input(EndpointRef).query(({ ctx, input }) => getEndpoint({ ctx, input })),
  stats: procedure.meta({ policy: read }).input(EndpointStatsInput).query(({ ctx, input }) => endpointStats({ ctx, input })),
  /** Stored drift reports, oldest first. */
  drift: procedure.meta({ policy: read }).input(EndpointDriftInput).query(({ ctx, input }) => endpointDrift({ ctx, input })),
  /** Compares the window's logged predictions with the served version's reference now, and stores the report. */
  computeDrift: procedure.meta({ policy: deployer }).input(ComputeDriftInput).mutation(({ ctx, input }) => computeDrift({ ctx, input })),
  /** The shadow version's answers next to the served ones over the window's logged pairs. */
  shadowComparison: procedure.meta({ policy: read }).input(ShadowComparisonInput).query(({ ctx, input }) => shadowComparison({ ctx, input })),
  create: procedure.meta({ policy: deployer }).input(CreateEndpointInput).mutation(({ ctx, input }) => createEndpoint({ ctx, input })),
  update: procedure.meta({ policy: deployer }).input(UpdateEndpointInput).mutation(({ ctx, input }) => updateEndpoint({ ctx, input })),
  delete: procedure.meta({ policy: deployer }).input(EndpointRef).mutation(({ ctx, input }) => deleteEndpoint({ ctx, input })),
});
