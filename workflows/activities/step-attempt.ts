import { Context } from '@temporalio/activity';
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import { StepStopped, type StepAttempt } from '@/server/services/runs/step-engine';

/**
 * The Temporal side of the step engine (server/services/runs/step-engine.ts), for build and scenario
 * step activities alike: the attempt, the cancellation and the heartbeat come from the activity's
 * context; a step that stopped because the run was cancelled or its worker is shutting down is
 * reported as the cancellation Temporal asked for, now that the step has cleaned up; a failure of
 * the user's is a non-retryable, benign failure of `stepFailedType` (an outcome, not an incident:
 * logged at debug, not as a worker warning). Anything else is left to the caller (then retried).
 */
export async function stepActivity<T>(stepFailedType: string, run: (attempt: StepAttempt) => Promise<T>, heartbeat?: (details: unknown) => void): Promise<T> {
  const ctx = Context.current();
  const attempt: StepAttempt = {
    attempt: ctx.info.attempt,
    workflowId: callingWorkflowId(),
    signal: ctx.cancellationSignal,
    cancelRequested: () => ctx.cancellationDetails?.cancelRequested === true,
    heartbeat: heartbeat ?? ((details) => ctx.heartbeat(details)),
  };
  try {
    return await run(attempt);
  } catch (err) {
    if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? err;
    if (err instanceof StepStopped && err.type === 'failed') throw stepFailure(err.message, stepFailedType);
    throw err;
  }
}

export const stepFailure = (message: string, type: string) => ApplicationFailure.create({ message, type, nonRetryable: true, category: ApplicationFailureCategory.BENIGN });

/** The id of the workflow that scheduled the running activity. */
export function callingWorkflowId(): string {
  const execution = Context.current().info.workflowExecution;
  if (!execution) throw new Error('step activities must be scheduled by a workflow');
  return execution.workflowId;
}
