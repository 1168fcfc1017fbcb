import { PredictInput } from '../../services/endpoints/schemas';
import { predictRecords } from '../../services/scoring/predict-records';
import { procedure, router } from '../trpc';

/**
 * Real-time scoring for typed clients and the UI's console. High-volume clients should use the REST
 * route (`POST /api/v1/endpoints/{name}/predict`): same code, a fraction of the per-request cost.
 */
export const scoringRouter = router({
  predict: procedure
    .meta({ policy: { kind: 'endpointScorer' } })
    .input(PredictInput)
    .mutation(({ ctx, input }) => predictRecords({ ctx, input })),
});
