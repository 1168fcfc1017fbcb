import { ActivityCancellationType, CancellationScope, isCancellation, patched, proxyActivities } from '@temporalio/workflow';
import type { BuildActivities, BuildInput, BuildPlanStepRef, BuildResult } from '../shared';
import { buildFailureTypes } from '../shared';

const { beginBuild, skipSteps, failStep, finishBuild } = proxyActivities<BuildActivities>({
  // Bookkeeping on the run's rows: short transactions.
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '500 milliseconds',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 20,
    nonRetryableErrorTypes: [buildFailureTypes.runNotFound, buildFailureTypes.runAlreadyFinished],
  },
});

const { buildStep } = proxyActivities<BuildActivities>({
  // The statement timeout inside bounds each query; this bounds a whole step (many ts batches).
  startToCloseTimeout: '2 hours',
  // The step heartbeats every second while its SQL runs: a killed worker's step is retried on
  // another worker within this, and cancellation reaches a running query as fast.
  heartbeatTimeout: '10 seconds',
  // Wait for the step to cancel its query and drop its staging table before finishing the run.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 5,
    nonRetryableErrorTypes: [buildFailureTypes.stepFailed, buildFailureTypes.stepAlreadyFinished, buildFailureTypes.staleAttempt, buildFailureTypes.runNotFound],
  },
});

const { measureStep } = proxyActivities<BuildActivities>({
  // One metrics pass over a published table (a block sample above EXACT_METRICS_MAX_ROWS rows): each
  // query is bounded by the statement timeout, the pass heartbeats like a step.
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '10 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 5,
    nonRetryableErrorTypes: [buildFailureTypes.runNotFound],
  },
});

/** Marker of the workflows that let a step publish before its metrics (histories before it never did). */
export const MEASURE_AFTER_PUBLISH_PATCH = 'measure-after-publish';

type Settled = { stepId: string; ok: true } | { stepId: string; ok: false; error: unknown };

/**
 * Builds a compiled pipeline: the steps planned (and stored) when the build started, in dependency
 * order, independent branches in parallel up to the plan's bound. A step that fails leaves its
 * dataset as it was and every step downstream of it is skipped; the other branches go on.
 */
export async function buildWorkflow(input: BuildInput): Promise<BuildResult> {
  const { runId } = input;
  const running = new Map<string, Promise<Settled>>();
  // Metrics of tables already published: the steps that read them do not wait for these, the run's end does.
  const measuring: Promise<unknown>[] = [];
  try {
    const planned = await beginBuild({ runId });
    const measureAfterPublish = patched(MEASURE_AFTER_PUBLISH_PATCH);
    const outcome = new Map<string, 'succeeded' | 'failed' | 'skipped'>();
    const pending = new Map<string, BuildPlanStepRef>(planned.steps.map((s) => [s.stepId, s]));

    while (pending.size > 0 || running.size > 0) {
      const skipped = skippable(pending, outcome);
      if (skipped.length > 0) {
        for (const id of skipped) {
          pending.delete(id);
          outcome.set(id, 'skipped');
        }
        await skipSteps({ runId, stepIds: skipped, reason: 'a step it depends on did not succeed' });
      }
      for (const step of pending.values()) {
        if (running.size >= planned.parallelism) break;
        if (!step.after.every((a) => outcome.get(a) === 'succeeded')) continue;
        pending.delete(step.stepId);
        running.set(
          step.stepId,
          buildStep({ runId, stepId: step.stepId, ...(measureAfterPublish ? { measureAfterPublish } : {}) }).then(
            (done): Settled => {
              if (done.metricsPending) measuring.push(measured(runId, step.stepId));
              return { stepId: step.stepId, ok: true };
            },
            (error: unknown): Settled => ({ stepId: step.stepId, ok: false, error }),
          ),
        );
      }
      if (running.size === 0) break;
      const settled = await Promise.race(running.values());
      running.delete(settled.stepId);
      if (settled.ok) {
        outcome.set(settled.stepId, 'succeeded');
        continue;
      }
      if (isCancellation(settled.error)) throw settled.error;
      outcome.set(settled.stepId, 'failed');
      if (!isStepFailure(settled.error)) await failStep({ runId, stepId: settled.stepId, error: describe(settled.error) });
    }
    const stopped = (await Promise.all(measuring)).find((e) => e !== null);
    if (stopped) throw stopped;
    return await finishBuild({ runId, cancelled: false });
  } catch (err) {
    const cancelled = isCancellation(err);
    await CancellationScope.nonCancellable(async () => {
      // Steps still running were asked to cancel; their staging tables are dropped once they answer.
      await Promise.all(running.values());
      await Promise.all(measuring);
      await finishBuild({ runId, cancelled, ...(cancelled ? {} : { error: describe(err) }) });
    });
    throw err;
  }
}

/**
 * A published table's metrics; settles with null, or the cancellation that stopped them (never
 * rejects: nothing awaits it until the steps are done). Its step succeeded and its data is out: a
 * pass that keeps failing (its retries run out) leaves the step without metrics, not the build failed.
 */
function measured(runId: string, stepId: string): Promise<unknown> {
  return measureStep({ runId, stepId }).then(
    () => null,
    (err: unknown) => (isCancellation(err) ? err : null),
  );
}

/** Pending steps that wait (directly or not) for a step that failed or was skipped. */
function skippable(pending: Map<string, BuildPlanStepRef>, outcome: Map<string, string>): string[] {
  const out: string[] = [];
  const blocked = (id: string) => outcome.get(id) === 'failed' || outcome.get(id) === 'skipped' || out.includes(id);
  let changed = true;
  while (changed) {
    changed = false;
    for (const s of pending.values()) {
      if (!out.includes(s.stepId) && s.after.some(blocked)) {
        out.push(s.stepId);
        changed = true;
      }
    }
  }
  return out;
}

/** A failure the step recorded itself (its SQL, code or an error-level check). */
function isStepFailure(err: unknown): boolean {
  const cause = err instanceof Error ? err.cause : undefined;
  const type = (cause as { type?: unknown } | undefined)?.type;
  return type === buildFailureTypes.stepFailed || type === buildFailureTypes.stepAlreadyFinished;
}

function describe(err: unknown): string {
  // An ActivityFailure's own message is generic; the cause says what went wrong.
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}
