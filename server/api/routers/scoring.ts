import { PredictInput } from '../../services/endpoints/schemas';
import { predictRecords } from '../../services/scoring/predict-records';
import { procedure, router } from '../trpc';

/**
 * Real-time scoring for typed clients and the UI's console; the same code as the REST route
 * (`POST /api/v1/endpoints/{name}/predict`). A single unbatched call takes the direct path of
 * `api/trpc-http.ts` and costs little more than the REST route (superjson, the middlewares);
 * batched calls go through tRPC's own adapter, several times dearer per call.
 */
export const scoringRouter = router({
  predict: procedure
    .meta({ policy: { kind: 'endpointScorer' } })
    .input(PredictInput)
    .mutation(({ ctx, input }) => predictRecords({ ctx, input })),
});
