import { SpanStatusCode, trace } from '@opentelemetry/api';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from '@/db/client';
import { runBuildStep, type BuildStepOptions } from '@/server/services/builds/run-build-step';
import type { BuildStepChainResult } from '../shared';
import { buildFailureTypes } from '../shared';
import { stepActivity } from './step-attempt';

/**
 * Steps of a chain (see `BuildActivities.buildStepChain`), each through the same step engine as a
 * `buildStep` activity: its attempt is the chain's, its cancellation the chain's. A step that fails
 * of its own (recorded on the step) ends the chain with that outcome; anything else fails the whole
 * activity, which Temporal retries: the steps already done return what they stored.
 */
export async function runStepChain(db: Db, input: { runId: string; stepIds: string[] }, options: BuildStepOptions, mapErrors: <T>(fn: () => Promise<T>) => Promise<T>): Promise<BuildStepChainResult> {
  const ctx = Context.current();
  // Between steps no step heartbeats: the chain sends the latest step's details again (what a
  // reader of the activity's progress sees).
  let latest: unknown = 'starting';
  const heartbeat = (details: unknown) => {
    latest = details;
    ctx.heartbeat(details);
  };
  const timer = setInterval(() => ctx.heartbeat(latest), 1_000);
  const steps: BuildStepChainResult['steps'] = [];
  try {
    for (const stepId of input.stepIds) {
      const step = { runId: input.runId, stepId };
      try {
        const outcome = await traced(stepId, () => mapErrors(() => stepActivity(buildFailureTypes.stepFailed, (attempt) => runBuildStep(db, step, { ...attempt, options }), heartbeat)));
        steps.push({ stepId, ok: true, outcome });
      } catch (err) {
        const recorded = recordedFailure(err);
        if (recorded === null) throw err;
        steps.push({ stepId, ok: false, error: recorded });
        break;
      }
    }
    return { steps };
  } catch (err) {
    if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? err;
    throw err;
  } finally {
    clearInterval(timer);
  }
}

/**
 * A span per step of a chain (`BuildStep`, the step id an attribute), under the activity's
 * `RunActivity:buildStepChain`: a trace shows each step and its queries as it did with an activity
 * per step. Without the OpenTelemetry SDK (tracing off) the API's tracer does nothing.
 */
function traced<T>(stepId: string, fn: () => Promise<T>): Promise<T> {
  return trace.getTracer('stagebook').startActiveSpan('BuildStep', { attributes: { 'stagebook.step_id': stepId } }, async (span) => {
    try {
      return await fn();
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** The step's own failure (recorded on it), as the workflow would have read it from a `buildStep` failure; null for anything else. */
function recordedFailure(err: unknown): string | null {
  if (!(err instanceof ApplicationFailure)) return null;
  return err.type === buildFailureTypes.stepFailed || err.type === buildFailureTypes.stepAlreadyFinished ? err.message : null;
}
