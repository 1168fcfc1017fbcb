import { ApplicationFailure, CancellationScope, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { HelloRunActivities, HelloRunInput, HelloRunResult } from '../shared';
import { failureTypes, MAX_HELLO_STEP_DELAY_MS } from '../shared';

const { markRunning, recordGreeting, completeRun, finishRunUnsuccessfully } = proxyActivities<HelloRunActivities>({
  // Bounds one attempt: the slowest step waits at most MAX_HELLO_STEP_DELAY_MS.
  startToCloseTimeout: '2 minutes',
  // Short, so a killed worker's activity is retried on another worker within seconds.
  heartbeatTimeout: '3 seconds',
  retry: {
    initialInterval: '500 milliseconds',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [failureTypes.invalidInput, failureTypes.runNotFound, failureTypes.runAlreadyFinished],
  },
});

/**
 * The smallest real run: queued -> running -> succeeded, one recorded step per activity. It exists to
 * prove the execution path end to end (service -> Temporal -> worker -> database -> audit).
 */
export async function helloRunWorkflow(input: HelloRunInput): Promise<HelloRunResult> {
  try {
    const stepDelayMs = validate(input);
    await markRunning({ runId: input.runId });
    const { greeting } = await recordGreeting({ runId: input.runId, message: input.message, stepDelayMs });
    return await completeRun({ runId: input.runId, greeting });
  } catch (err) {
    const status = isCancellation(err) ? 'cancelled' : 'failed';
    // Runs even when the workflow is being cancelled, so the run row never stays 'running'.
    await CancellationScope.nonCancellable(() =>
      finishRunUnsuccessfully({ runId: input.runId, status, error: describe(err) }),
    );
    throw err;
  }
}

function validate(input: HelloRunInput): number {
  if (!input.message.trim()) {
    throw ApplicationFailure.nonRetryable('message must not be empty', failureTypes.invalidInput);
  }
  const delay = input.stepDelayMs ?? 0;
  if (!Number.isInteger(delay) || delay < 0 || delay > MAX_HELLO_STEP_DELAY_MS) {
    throw ApplicationFailure.nonRetryable(
      `stepDelayMs must be an integer from 0 to ${MAX_HELLO_STEP_DELAY_MS}`,
      failureTypes.invalidInput,
    );
  }
  return delay;
}

function describe(err: unknown): string {
  // An ActivityFailure's own message is generic; the cause says what went wrong.
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}
