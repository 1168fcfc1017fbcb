import { PredictInput, plainPredictInput } from '../../services/endpoints/schemas';
import { PredictResponseJsonSchema } from '../rest/model-routes';
import { predictRecords, type PredictResult } from '../../services/scoring/predict-records';
import { scoreForApiKey } from '../../services/scoring/predict-request';
import { bearerSecret, requestWhere, type AppDeps } from '../context';
import { unstorableTextError } from '../storable-text';
import type { FastPath } from '../trpc-http';
import { procedure, router } from '../trpc';

/**
 * Real-time scoring for typed clients and the UI's console; the same code as the REST route
 * (`POST /api/v1/endpoints/{name}/predict`). A single unbatched call with an API key takes the
 * fast path below; other single calls the direct path of `api/trpc-http.ts` (superjson, the
 * middlewares); batched calls go through tRPC's own adapter, several times dearer per call.
 */
export const scoringRouter = router({
  predict: procedure
    .meta({ policy: { kind: 'endpointScorer' } })
    .input(PredictInput)
    .mutation(({ ctx, input }) => predictRecords({ ctx, input })),
});

/**
 * `scoring.predict`'s fast path for an API key (see FastPath in api/trpc-http.ts): the REST route's
 * cached key and endpoint, without the request context, the middleware chain or superjson. It
 * answers only calls the procedure would answer with data: the input must pass the procedure's own
 * checks (storable text, `PredictInput`, by hand: `plainPredictInput`), and the key the policy's endpointScorer rule (the same
 * function, `keyScorableEndpoint`); everything else, and every signed-in browser, takes the general
 * path and gets its exact answer.
 */
export function scoringPredictFastPath(deps: AppDeps): FastPath {
  return async (req, input) => {
    const secret = bearerSecret(req.headers);
    if (secret === undefined) return null;
    if (unstorableTextError(input)) return null;
    // Explanations take the general path (predictRecords), which adds them after the scoring.
    const parsed = plainPredictInput(input);
    if (!parsed) return null;
    const result = await scoreForApiKey(deps.db, secret, requestWhere(req), parsed.endpoint, parsed.records, req.id);
    return result && { data: result, plain: isPlain(result), schema: PredictResponseJsonSchema };
  };
}

/** Whether superjson would leave the result as it is: only its probabilities could be NaN or infinite. */
function isPlain(result: PredictResult): boolean {
  for (const p of result.predictions) for (const k in p.probabilities) if (!Number.isFinite(p.probabilities[k])) return false;
  return true;
}
