import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from '@/db/client';
import type { ServiceCtx } from '@/server/services/context';
import type { StepAttempt } from '@/server/services/runs/step-engine';
import { enqueueScenarioReports, recordScenarioReports } from '@/server/services/scenarios/reporters';
import { beginScenarioRun, closeScenarioStep, ScenarioRunError } from '@/server/services/scenarios/run-state';
import { runScenarioStep, type BeforeStep } from '@/server/services/scenarios/run-step';
import { finishRunAndStartDependents, prepareChildScenario, prepareNotification, prepareScenarioBuild, type WorkflowStepCall } from '@/server/services/scenarios/workflow-steps';
import { createWorkflowStarter } from '../client';
import type { ScenarioActivities, ScenarioStepOutcome } from '../shared/scenario';
import { scenarioFailureTypes } from '../shared/scenario';
import { callingWorkflowId, stepActivity, stepFailure } from './step-attempt';

/** Test seam: called before a step's activity runs (a throw is a transient failure of that attempt). */
export type ScenarioActivityOptions = { beforeStep?: BeforeStep };

/**
 * Scenario activities: thin adapters from Temporal (attempts, cancellation, heartbeats, the
 * worker's client) to server/services/scenarios, which own the idempotency by (run, step); steps
 * run through the step engine (server/services/runs/step-engine.ts), as build steps do.
 */
export function createScenarioActivities(db: Db, options: ScenarioActivityOptions = {}): ScenarioActivities {
  const call = (runId: string): WorkflowStepCall => ({ ctx: serviceCtx(db, runId), attempt: Context.current().info.attempt, beforeStep: options.beforeStep });
  return {
    beginScenarioRun: (input) => mapErrors(() => beginScenarioRun(db, input, callingWorkflowId())),

    runScenarioStep: ({ runId, index }) => runStepActivity((attempt) => runScenarioStep(db, serviceCtx(db, runId), attempt, { runId, index, phase: 'run' }, options.beforeStep)),

    resumeScenarioStep: ({ runId, index, cancelled }) => runStepActivity((attempt) => runScenarioStep(db, serviceCtx(db, runId), attempt, { runId, index, phase: 'resume', cancelled })),

    prepareScenarioBuild: (input) => mapErrors(() => prepareScenarioBuild(call(input.runId), input)),

    prepareChildScenario: (input) => mapErrors(() => prepareChildScenario(call(input.runId), input)),

    prepareNotification: (input) => mapErrors(() => prepareNotification(call(input.runId), input)),

    prepareScenarioReports: ({ runId, occasion }) => enqueueScenarioReports(serviceCtx(db, runId), runId, occasion),

    recordScenarioReports: ({ runId, reports }) => recordScenarioReports(db, runId, reports),

    closeScenarioStep: ({ runId, index, outcome }) => closeScenarioStep(db, runId, index, outcome),

    finishScenarioRun: (input) => mapErrors(() => finishRunAndStartDependents(serviceCtx(db, input.runId), { ...input, workflowId: callingWorkflowId() })),
  };
}

/** A step's activity: the step engine through `stepActivity`, the run's errors mapped. */
function runStepActivity(run: (attempt: StepAttempt) => Promise<ScenarioStepOutcome>): Promise<ScenarioStepOutcome> {
  return mapErrors(() => stepActivity(scenarioFailureTypes.stepFailed, run));
}

async function mapErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ScenarioRunError) {
      if (err.type === 'step-failed') throw stepFailure(err.message, scenarioFailureTypes.stepFailed);
      throw ApplicationFailure.nonRetryable(err.message, scenarioFailureTypes.runNotFound);
    }
    throw err;
  }
}

/** The services' context inside an activity: the workflow as actor, the worker's client to start runs. */
function serviceCtx(db: Db, runId: string): ServiceCtx {
  const info = Context.current().info;
  return {
    actor: { type: 'workflow', workflowId: callingWorkflowId() },
    requestId: runId,
    clientIp: null,
    db,
    workflows: createWorkflowStarter(Context.current().client, info.taskQueue),
  };
}
