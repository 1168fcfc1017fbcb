import { ActivityCancellationType, CancellationScope, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { TrainActivities, TrainInput, TrainOutcome } from '../shared';
import { trainFailureTypes } from '../shared';

const { trainVersion } = proxyActivities<TrainActivities>({
  // Reading a million rows and fitting every candidate of a leaderboard: bounded, but generous.
  startToCloseTimeout: '6 hours',
  // Training heartbeats every ~second (server/ml yields every ~20 ms): a killed worker's training
  // starts again on another worker within this.
  heartbeatTimeout: '30 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 5,
    nonRetryableErrorTypes: [trainFailureTypes.trainingInvalid, trainFailureTypes.runNotFound],
  },
});

const { finishTraining } = proxyActivities<TrainActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 20, nonRetryableErrorTypes: [trainFailureTypes.runNotFound] },
});

/**
 * Trains a model version as the train form asked (the request is stored on the run). A mistake in
 * the request fails the run with the reason; a cancellation stops the training and registers nothing.
 */
export async function trainWorkflow(input: TrainInput): Promise<TrainOutcome> {
  try {
    return await trainVersion({ runId: input.runId });
  } catch (err) {
    const cancelled = isCancellation(err);
    return CancellationScope.nonCancellable(() =>
      finishTraining({ runId: input.runId, status: cancelled ? 'cancelled' : 'failed', error: cancelled ? 'the training was cancelled' : describe(err) }),
    );
  }
}

function describe(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}
