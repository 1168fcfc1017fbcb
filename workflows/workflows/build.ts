import { ActivityCancellationType, CancellationScope, isCancellation, patched, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { BuildActivities, BuildInput, BuildPlanStepRef, BuildResult, BuildStepChainResult } from '../shared';
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

/** A step's activity: each attempt builds the step once (the statement timeout bounds each query inside). */
const stepActivityOptions: Omit<ActivityOptions, 'startToCloseTimeout'> = {
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
};

// This bounds a whole step (many ts batches); a chain gets as long for each of its steps.
const STEP_HOURS = 2;
const { buildStep } = proxyActivities<BuildActivities>({ ...stepActivityOptions, startToCloseTimeout: `${STEP_HOURS} hours` });
function buildStepChain(input: Parameters<BuildActivities['buildStepChain']>[0]): ReturnType<BuildActivities['buildStepChain']> {
  const { buildStepChain: chain } = proxyActivities<BuildActivities>({ ...stepActivityOptions, startToCloseTimeout: `${STEP_HOURS * input.stepIds.length} hours` });
  return chain(input);
}

/** Marker of the workflows that may run a chain of steps in one activity (`buildStepChain`). */
export const STEP_CHAINS_PATCH = 'build-step-chains';

/** The longest chain one activity runs: a chain is retried from its first step not done yet. */
export const MAX_CHAIN_STEPS = 8;

/** What became of the steps one activity ran (one step, or a chain of them): what they returned, or the activity's failure. */
type Settled = { key: string; stepIds: string[] } & ({ chain: BuildStepChainResult } | { error: unknown });

/** The run's bookkeeping while it builds. */
type Build = {
  runId: string;
  refs: Map<string, BuildPlanStepRef>;
  pending: Map<string, BuildPlanStepRef>;
  outcome: Map<string, 'succeeded' | 'failed' | 'skipped'>;
};

/**
 * Builds a compiled pipeline: the steps planned (and stored) when the build started, in dependency
 * order, independent branches in parallel up to the plan's bound. A step that fails leaves its
 * dataset as it was and every step downstream of it is skipped; the other branches go on.
 */
export async function buildWorkflow(input: BuildInput): Promise<BuildResult> {
  const { runId } = input;
  const running = new Map<string, Promise<Settled>>();
  const b: Build = { runId, refs: new Map(), pending: new Map(), outcome: new Map() };
  try {
    const planned = await beginBuild({ runId });
    const chains = patched(STEP_CHAINS_PATCH) && planned.chainSteps === true;
    for (const s of planned.steps) {
      b.refs.set(s.stepId, s);
      b.pending.set(s.stepId, s);
    }
    const start = (stepIds: string[]): Promise<Settled> => {
      const key = stepIds[0]!;
      const ran = stepIds.length === 1 ? buildStep({ runId, stepId: key }).then((outcome) => ({ steps: [{ stepId: key, ok: true as const, outcome }] })) : buildStepChain({ runId, stepIds });
      return ran.then(
        (chain): Settled => ({ key, stepIds, chain }),
        (error: unknown): Settled => ({ key, stepIds, error }),
      );
    };

    while (b.pending.size > 0 || running.size > 0) {
      await skipBlocked(b);
      for (const step of b.pending.values()) {
        if (running.size >= planned.parallelism) break;
        if (!step.after.every((a) => b.outcome.get(a) === 'succeeded')) continue;
        const stepIds = chains ? chainFrom(step, b) : [step.stepId];
        for (const id of stepIds) b.pending.delete(id);
        running.set(step.stepId, start(stepIds));
      }
      if (running.size === 0) break;
      const settled = await Promise.race(running.values());
      running.delete(settled.key);
      await settle(b, settled);
    }
    return await finishBuild({ runId, cancelled: false });
  } catch (err) {
    const cancelled = isCancellation(err);
    await CancellationScope.nonCancellable(async () => {
      // Steps still running were asked to cancel; their staging tables are dropped once they answer.
      await Promise.all(running.values());
      await finishBuild({ runId, cancelled, ...(cancelled ? {} : { error: describe(err) }) });
    });
    throw err;
  }
}

/** Records what an activity's steps came to; its steps that did not run go back to pending (to be skipped, or run again). */
async function settle(b: Build, s: Settled): Promise<void> {
  if ('error' in s) {
    if (isCancellation(s.error)) throw s.error;
    const [first, ...then] = s.stepIds;
    if (then.length === 0) {
      b.outcome.set(first!, 'failed');
      if (!isStepFailure(s.error)) await failStep({ runId: b.runId, stepId: first!, error: describe(s.error) });
      return;
    }
    const given = await failStep({ runId: b.runId, stepId: first!, error: describe(s.error), then });
    for (const id of given.succeeded) b.outcome.set(id, 'succeeded');
    if (given.failed) b.outcome.set(given.failed, 'failed');
  } else {
    for (const step of s.chain.steps) b.outcome.set(step.stepId, step.ok ? 'succeeded' : 'failed');
  }
  for (const id of s.stepIds) if (!b.outcome.has(id)) b.pending.set(id, b.refs.get(id)!);
}

/**
 * `first` and the steps after it that only it is waiting for: each next step is the one pending
 * step that reads the step before it, and it waits for nothing else not yet succeeded. Nothing but
 * the chain waits on its steps, so running them in one activity holds back no other branch and
 * saves a Temporal round trip (the activity's result, a workflow task, the next activity) per step.
 */
function chainFrom(first: BuildPlanStepRef, b: Build): string[] {
  const stepIds = [first.stepId];
  while (stepIds.length < MAX_CHAIN_STEPS) {
    const last = stepIds[stepIds.length - 1]!;
    const waiting = [...b.pending.values()].filter((s) => s.after.includes(last));
    const next = waiting[0];
    if (waiting.length !== 1 || !next || !next.after.every((a) => a === last || b.outcome.get(a) === 'succeeded')) break;
    stepIds.push(next.stepId);
  }
  return stepIds;
}

/** Skips the pending steps downstream of a step that failed or was skipped. */
async function skipBlocked(b: Build): Promise<void> {
  const skipped = skippable(b.pending, b.outcome);
  if (skipped.length === 0) return;
  for (const id of skipped) {
    b.pending.delete(id);
    b.outcome.set(id, 'skipped');
  }
  await skipSteps({ runId: b.runId, stepIds: skipped, reason: 'a step it depends on did not succeed' });
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
