/**
 * The train workflow's contract: workflow `trainWorkflow`, id `train-<runId>`. The train form starts
 * it (services/models/trainings.ts); the run row (kind `train`) holds the request, its progress and
 * the outcome, so any web process can answer "how is it going" and a web restart loses nothing.
 */

export const trainWorkflowId = (runId: string): string => `train-${runId}`;

export type TrainInput = { runId: string; projectId: string };

export type TrainOutcome = { runId: string; status: 'succeeded' | 'failed' | 'cancelled'; version: number | null };

/** Non-retryable failure types of train activities. */
export const trainFailureTypes = {
  /** The user's mistake (a column the dataset lacks, one class only): recorded on the run, not retried. */
  trainingInvalid: 'TrainingInvalid',
  runNotFound: 'RunNotFound',
} as const;

export type TrainActivities = {
  /**
   * Reads the dataset, trains (every candidate of a leaderboard), exports and registers the version,
   * marking the run succeeded in the same transaction. Idempotent by run: a run already finished
   * returns its stored outcome; a retry after a crash trains again and registers once.
   */
  trainVersion(input: { runId: string }): Promise<TrainOutcome>;
  /** Records a run that failed (its retries ran out) or was cancelled; a no-op once it finished. */
  finishTraining(input: { runId: string; status: 'failed' | 'cancelled'; error: string }): Promise<TrainOutcome>;
};
