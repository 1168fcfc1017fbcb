import { Context } from '@temporalio/activity';
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import type { Db } from '@/db/client';
import { beginBuildRun, closeBuildSteps, finishBuildRun } from '@/server/services/builds/build-run-state';
import { BuildStepError } from '@/server/services/builds/build-step-state';
import { DEFAULT_BUILD_STEP_OPTIONS, runBuildStep, type BuildStepOptions } from '@/server/services/builds/run-build-step';
import type { BuildActivities } from '../shared';
import { buildFailureTypes, DEFAULT_BUILD_PARALLELISM } from '../shared';

export type BuildActivityOptions = { parallelism?: number; step?: Partial<BuildStepOptions> };

/** Heartbeats while a step runs: often enough that cancellation reaches a running query within ~1 s. */
const HEARTBEAT_EVERY_MS = 1_000;

/**
 * Build activities: thin adapters from Temporal (attempt, cancellation, heartbeats) to the build
 * services, which own the idempotency by (run, step); see server/services/builds/run-build-step.ts.
 */
export function createBuildActivities(db: Db, options: BuildActivityOptions = {}): BuildActivities {
  const stepOptions: BuildStepOptions = { ...DEFAULT_BUILD_STEP_OPTIONS, ...options.step };
  return {
    async beginBuild({ runId }) {
      const steps = await mapErrors(() => beginBuildRun(db, runId));
      return { steps, parallelism: options.parallelism ?? DEFAULT_BUILD_PARALLELISM };
    },

    async buildStep({ runId, stepId }) {
      const ctx = Context.current();
      let progress = 'starting';
      ctx.heartbeat(progress);
      const timer = setInterval(() => ctx.heartbeat(progress), HEARTBEAT_EVERY_MS);
      try {
        return await mapErrors(() =>
          runBuildStep(
            db,
            { runId, stepId },
            {
              attempt: ctx.info.attempt,
              workflowId: callingWorkflowId(),
              signal: ctx.cancellationSignal,
              cancelRequested: () => ctx.cancellationDetails?.cancelRequested === true,
              heartbeat: (p) => {
                progress = p;
                ctx.heartbeat(p);
              },
              options: stepOptions,
            },
          ),
        );
      } catch (err) {
        // Stopped (cancelled, or this worker shutting down): report it as the cancellation Temporal
        // asked for, now that the step has cleaned up.
        if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? err;
        throw err;
      } finally {
        clearInterval(timer);
      }
    },

    async skipSteps({ runId, stepIds, reason }) {
      await mapErrors(() => closeBuildSteps(db, runId, stepIds, 'skipped', reason));
    },

    async failStep({ runId, stepId, error }) {
      await mapErrors(() => closeBuildSteps(db, runId, [stepId], 'failed', error));
    },

    async finishBuild({ runId, cancelled, error }) {
      return mapErrors(() => finishBuildRun(db, { runId, cancelled, error, workflowId: callingWorkflowId() }));
    },
  };
}

/** Business outcomes become non-retryable failures of their type; anything else is retried. */
async function mapErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof BuildStepError)) throw err;
    switch (err.type) {
      // A user's mistake (their SQL, their code, their checks) is an outcome, not an incident: benign
      // failures are logged at debug, not as worker warnings.
      case 'failed':
        throw ApplicationFailure.create({ message: err.message, type: buildFailureTypes.stepFailed, nonRetryable: true, category: ApplicationFailureCategory.BENIGN });
      case 'already-finished':
        throw ApplicationFailure.create({ message: err.message, type: buildFailureTypes.stepAlreadyFinished, nonRetryable: true, category: ApplicationFailureCategory.BENIGN });
      case 'stale-attempt':
        throw ApplicationFailure.nonRetryable(err.message, buildFailureTypes.staleAttempt);
      case 'run-not-found':
        throw ApplicationFailure.nonRetryable(err.message, buildFailureTypes.runNotFound);
      case 'cancelled':
      case 'interrupted':
        throw err;
    }
  }
}

function callingWorkflowId(): string {
  const execution = Context.current().info.workflowExecution;
  if (!execution) throw new Error('build activities must be scheduled by a workflow');
  return execution.workflowId;
}
