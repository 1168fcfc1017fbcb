import { ActivityCancellationType, CancellationScope, executeChild, isCancellation, patched, proxyActivities, sleep, uuid4, type ActivityOptions } from '@temporalio/workflow';
import { assertNever } from '../shared/assert-never';
import type { BuildInput, BuildResult } from '../shared/build';
import { buildWorkflowId } from '../shared/build';
import { workflowNames } from '../shared';
import { deliverNotificationOptions, type NotificationActivities } from '../shared/notifications';
import type { ScenarioActivities, ScenarioReport, ScenarioReportOccasion, ScenarioRunInput, ScenarioRunResult, ScenarioStepOutcome, ScenarioStepRef } from '../shared/scenario';
import { SCENARIO_REPORTERS_PATCH, scenarioFailureTypes, scenarioRunWorkflowId, scenarioWorkflowNames } from '../shared/scenario';

const bookkeeping = proxyActivities<ScenarioActivities>({
  // Short transactions on the run's rows; retried through database hiccups.
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 20, nonRetryableErrorTypes: [scenarioFailureTypes.runNotFound] },
});

const { deliverNotification } = proxyActivities<NotificationActivities>(deliverNotificationOptions);

/** One step's activity: `retries` extra attempts for transient failures; the user's failures are not retried. */
const stepActivity = (retries: number) =>
  proxyActivities<ScenarioActivities>({
    // Training and batch scoring can be long; the heartbeat catches a dead worker much sooner.
    startToCloseTimeout: '4 hours',
    heartbeatTimeout: '20 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '1 minute',
      maximumAttempts: retries + 1,
      nonRetryableErrorTypes: [scenarioFailureTypes.stepFailed, scenarioFailureTypes.runNotFound],
    },
  } satisfies ActivityOptions);

/** queue_one: how long a waiting run sleeps between asking whether the running one finished. */
const WAIT_FIRST_MS = 1_000;
const WAIT_MAX_MS = 15_000;

/**
 * One run of a production scenario: its steps in order, each when its `when` says (after success,
 * always, or after a failure), a build step as the build workflow (a child), a run_scenario step as
 * another run of this workflow (a child). Every step's state is on its row; activities are
 * idempotent by (run, step), so a killed worker or a restarted server replays to the same place.
 */
export async function scenarioRunWorkflow(input: ScenarioRunInput): Promise<ScenarioRunResult> {
  const reporting = patched(SCENARIO_REPORTERS_PATCH);
  // Not cancellable: a cancel arriving while it runs would end the workflow before the activity
  // commits `running`, leaving the run running forever. Cancelled afterwards, the next activity
  // call throws and the run is finished `cancelled` below.
  let begun = await CancellationScope.nonCancellable(() => bookkeeping.beginScenarioRun(input));
  for (let wait = WAIT_FIRST_MS; begun.decision === 'wait'; wait = Math.min(wait * 2, WAIT_MAX_MS)) {
    try {
      await sleep(wait);
    } catch (err) {
      if (!isCancellation(err)) throw err;
      return CancellationScope.nonCancellable(() => bookkeeping.finishScenarioRun({ runId: begun.runId, cancelled: true }));
    }
    const runId = begun.runId;
    begun = await CancellationScope.nonCancellable(() => bookkeeping.beginScenarioRun({ ...input, runId }));
  }
  if (begun.decision === 'done') {
    const status = begun.status === 'running' ? 'failed' : begun.status;
    return { runId: begun.runId, status, steps: [], triggered: [] };
  }

  const { runId } = begun;
  const outcomes: ScenarioStepOutcome['status'][] = [];
  // Gate decisions are reported alongside the next steps, not before them: a receiver that is down
  // (deliveries retry for ~10 min) must not hold the run up.
  const gateReports: Promise<void>[] = [];
  const reportOn = (occasion: ScenarioReportOccasion) => (reporting ? report(runId, occasion) : Promise.resolve());
  try {
    let failedSoFar = false;
    for (const step of begun.steps) {
      const runs = step.when === 'always' || (step.when === 'success' ? !failedSoFar : failedSoFar);
      if (!runs) {
        const reason = step.when === 'success' ? 'an earlier step failed' : 'no earlier step failed';
        await bookkeeping.closeScenarioStep({ runId, index: step.index, outcome: { status: 'skipped', error: reason } });
        outcomes.push('skipped');
        continue;
      }
      const outcome = await runStep(begun.projectId, runId, step, failedSoFar);
      outcomes.push(outcome.status);
      if (outcome.status === 'failed' || outcome.status === 'cancelled') failedSoFar = true;
      if (step.type === 'retrain' && outcome.status === 'succeeded') gateReports.push(reportOn({ kind: 'gate_decision', stepIndex: step.index }));
    }
    const result = await bookkeeping.finishScenarioRun({ runId, cancelled: false });
    await Promise.all([...gateReports, reportOn({ kind: 'finished' })]);
    return result;
  } catch (err) {
    const cancelled = isCancellation(err);
    return CancellationScope.nonCancellable(async () => {
      const result = await bookkeeping.finishScenarioRun({ runId, cancelled, ...(cancelled ? {} : { error: describe(err) }) });
      if (!cancelled) {
        await reportOn({ kind: 'finished' });
        throw err;
      }
      return result;
    });
  }
}

/**
 * Sends the reports of one occasion and records them on the run. Never rejects: a reporter's
 * failure (no such channel, a receiver that gave up, even a cancelled delivery) is recorded or
 * dropped, never the run's failure. Delivery ids are derived from the run, so a replay or a
 * retried activity addresses the same rows and the receiver hears once.
 */
async function report(runId: string, occasion: ScenarioReportOccasion): Promise<void> {
  try {
    const { queued, refused } = await bookkeeping.prepareScenarioReports({ runId, occasion });
    if (queued.length === 0 && refused.length === 0) return;
    const sent = await Promise.all(
      queued.map(async (q): Promise<ScenarioReport> => {
        try {
          const delivered = await deliverNotification({ deliveryId: q.deliveryId });
          return { ...q, status: delivered.status, ...(delivered.error ? { error: delivered.error } : {}) };
        } catch (err) {
          return { ...q, status: 'failed', error: describe(err) };
        }
      }),
    );
    await bookkeeping.recordScenarioReports({ runId, reports: [...refused, ...sent] });
  } catch {
    // The run's outcome is already recorded; a report that could not even be recorded stays lost.
  }
}

async function runStep(projectId: string, runId: string, step: ScenarioStepRef, failedSoFar: boolean): Promise<ScenarioStepOutcome> {
  const close = async (outcome: ScenarioStepOutcome) => {
    await bookkeeping.closeScenarioStep({ runId, index: step.index, outcome });
    return outcome;
  };
  try {
    switch (step.type) {
      case 'build': {
        const prepared = await stepActivity(step.retries).prepareScenarioBuild({ runId, index: step.index, buildRunId: uuid4() });
        if ('failed' in prepared) return await close({ status: 'failed', error: prepared.failed });
        const build = await executeChild<(input: BuildInput) => Promise<BuildResult>>(workflowNames.build, {
          workflowId: buildWorkflowId(prepared.buildRunId),
          args: [{ runId: prepared.buildRunId, projectId: prepared.projectId, environment: 'production' }],
        });
        const output = { buildRunId: build.runId, succeeded: build.succeeded, failed: build.failed, skipped: build.skipped };
        if (build.status === 'succeeded') return await close({ status: 'succeeded', output });
        return await close({ status: build.status === 'cancelled' ? 'cancelled' : 'failed', error: `the build ${build.status}${build.failed.length ? ` (failed: ${build.failed.join(', ')})` : ''}`, output });
      }
      case 'run_scenario': {
        const childRunId = uuid4();
        const admitted = await stepActivity(step.retries).prepareChildScenario({ runId, index: step.index, childRunId });
        if (!admitted.admitted) return await close({ status: 'skipped', error: admitted.reason ?? 'the scenario was not started', output: { childRunId } });
        const child = await executeChild<(input: ScenarioRunInput) => Promise<ScenarioRunResult>>(scenarioWorkflowNames.run, {
          workflowId: scenarioRunWorkflowId(childRunId),
          args: [{ projectId: admitted.projectId, scenario: admitted.scenario, runId: childRunId, trigger: { kind: 'run_scenario', detail: { runId } } }],
        });
        const output = { childRunId, status: child.status };
        if (child.status === 'succeeded') return await close({ status: 'succeeded', output });
        if (child.status === 'skipped') return await close({ status: 'skipped', error: `scenario "${admitted.scenario}" skipped the run (overlap)`, output });
        return await close({ status: child.status === 'cancelled' ? 'cancelled' : 'failed', error: `scenario "${admitted.scenario}" ${child.status}`, output });
      }
      case 'notify': {
        const prepared = await stepActivity(step.retries).prepareNotification({ runId, index: step.index, deliveryId: uuid4(), failedSoFar });
        if ('failed' in prepared) return await close({ status: 'failed', error: prepared.failed });
        const delivered = await deliverNotification({ deliveryId: prepared.deliveryId });
        return await close({ status: 'succeeded', output: { ...delivered } });
      }
      case 'retrain': {
        const first = await stepActivity(step.retries).runScenarioStep({ runId, index: step.index });
        if (first.resumeAfterMs === undefined) return first;
        // A challenger shadow-scores live traffic: a durable timer, then the decision. Cancelled
        // meanwhile, the shadow is still ended (and the champion kept) before the run finishes.
        try {
          if (first.resumeAfterMs > 0) await sleep(first.resumeAfterMs);
        } catch (err) {
          if (isCancellation(err)) await CancellationScope.nonCancellable(() => stepActivity(step.retries).resumeScenarioStep({ runId, index: step.index, cancelled: true }));
          throw err;
        }
        return await stepActivity(step.retries).resumeScenarioStep({ runId, index: step.index, cancelled: false });
      }
      case 'metrics':
      case 'checks':
      case 'sql':
      case 'score':
      case 'drift':
        return await stepActivity(step.retries).runScenarioStep({ runId, index: step.index });
      default:
        // A kind this workflow code does not know (see scenarioStepKinds): the step fails, saying so.
        return assertNever(step.type, 'scenario step type');
    }
  } catch (err) {
    if (isCancellation(err)) throw err;
    // The step recorded a failure of its own; or its retries ran out (recorded here, a no-op otherwise).
    return close({ status: 'failed', error: describe(err) });
  }
}

function describe(err: unknown): string {
  // An ActivityFailure's own message is generic; its cause says what went wrong.
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}
