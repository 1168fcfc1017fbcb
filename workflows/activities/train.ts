import { Context } from '@temporalio/activity';
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import type { Db } from '@/db/client';
import { finishTrainingRun, runStoredTraining, TrainingRunError } from '@/server/services/models/training-run';
import type { TrainActivities } from '../shared';
import { trainFailureTypes } from '../shared';

/** Heartbeats while reading and exporting too (stages without training iterations). */
const HEARTBEAT_EVERY_MS = 1_000;

/** Train activities: adapters from Temporal (cancellation, heartbeats) to services/models/training-run.ts. */
export function createTrainActivities(db: Db): TrainActivities {
  return {
    async trainVersion({ runId }) {
      const ctx = Context.current();
      let detail = 'starting';
      ctx.heartbeat(detail);
      const timer = setInterval(() => ctx.heartbeat(detail), HEARTBEAT_EVERY_MS);
      try {
        return await runStoredTraining(db, runId, { signal: ctx.cancellationSignal, heartbeat: (d) => (detail = d) });
      } catch (err) {
        if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? err;
        throw mapError(err);
      } finally {
        clearInterval(timer);
      }
    },

    async finishTraining({ runId, status, error }) {
      try {
        return await finishTrainingRun(db, runId, status, error);
      } catch (err) {
        throw mapError(err);
      }
    },
  };
}

function mapError(err: unknown): unknown {
  if (!(err instanceof TrainingRunError)) return err;
  if (err.type === 'run-not-found') return ApplicationFailure.nonRetryable(err.message, trainFailureTypes.runNotFound);
  // A user's mistake is an outcome, not an incident.
  return ApplicationFailure.create({ message: err.message, type: trainFailureTypes.trainingInvalid, nonRetryable: true, category: ApplicationFailureCategory.BENIGN });
}
