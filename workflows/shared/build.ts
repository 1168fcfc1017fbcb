/**
 * The build workflow's contract: workflow `buildWorkflow`, id `build-<runId>`. Design-time builds and
 * production runs use the same workflow; `environment` picks the project's schema.
 */

export const buildWorkflowId = (runId: string): string => `build-${runId}`;

export type BuildEnvironment = 'design' | 'production';

export type BuildInput = {
  runId: string;
  projectId: string;
  environment: BuildEnvironment;
};

/** Steps run at once; independent branches beyond this wait their turn. */
export const DEFAULT_BUILD_PARALLELISM = 4;

/** What the workflow needs of each step; the step's SQL or code stays in the stored graph. */
export type BuildPlanStepRef = { stepId: string; after: string[] };
export type BuildPlanned = {
  steps: BuildPlanStepRef[];
  parallelism: number;
  /**
   * A step that is the only one waiting for the step before it runs in that step's activity
   * (`buildStepChain`), with no Temporal round trip between them. Absent: one activity per step.
   */
  chainSteps?: boolean;
};

export type BuildStepOutcome = { stepId: string; status: 'succeeded'; rowCount: number; published: boolean; warnings: number };

export type BuildResult = {
  runId: string;
  status: 'succeeded' | 'failed' | 'cancelled';
  succeeded: string[];
  failed: string[];
  skipped: string[];
  cancelled: string[];
};

/**
 * A chain's steps in the order they ran: each succeeded, except perhaps the last, which failed and
 * recorded why itself (its SQL, its code, an error-level check); the steps after it did not run.
 */
export type BuildStepChainResult = { steps: ({ stepId: string; ok: true; outcome: BuildStepOutcome } | { stepId: string; ok: false; error: string })[] };

/** Non-retryable failure types of build activities. */
export const buildFailureTypes = {
  /** The step's SQL or code failed, or an error-level check failed: recorded on the step, not retried. */
  stepFailed: 'BuildStepFailed',
  /** The step row says it already finished unsuccessfully (a re-delivery after the failure was recorded). */
  stepAlreadyFinished: 'BuildStepAlreadyFinished',
  /** A newer attempt owns the step: this one timed out and must not publish. */
  staleAttempt: 'BuildStaleAttempt',
  runNotFound: 'RunNotFound',
  runAlreadyFinished: 'RunAlreadyFinished',
} as const;

export type BuildActivities = {
  /** Marks the run running and returns its planned steps (stored when the build was started). */
  beginBuild(input: { runId: string }): Promise<BuildPlanned>;
  /**
   * Builds one step: staging table, metrics, checks, publish by atomic swap when no error-level check
   * fails. Idempotent by (run, step): a step already published returns its stored outcome.
   */
  buildStep(input: { runId: string; stepId: string }): Promise<BuildStepOutcome>;
  /**
   * Builds steps one after another in one activity, each exactly as `buildStep` would (idempotent by
   * (run, step): a retry finds the steps done so far done), each next step only once the one before
   * it succeeded.
   */
  buildStepChain(input: { runId: string; stepIds: string[] }): Promise<BuildStepChainResult>;
  /**
   * Records a step that failed without recording it itself (its retries ran out); a no-op once it
   * finished. With `then` (the rest of a chain), the first of `stepId, ...then` still open is the
   * one that failed; returns which that was and which of them succeeded.
   */
  failStep(input: { runId: string; stepId: string; error: string; then?: string[] }): Promise<{ failed: string | null; succeeded: string[] }>;
  /** Marks steps skipped because a step they wait for did not succeed. */
  skipSteps(input: { runId: string; stepIds: string[]; reason: string }): Promise<void>;
  /** Finishes the run from its steps' outcomes (or as cancelled), once; audits `build.complete`. */
  finishBuild(input: { runId: string; cancelled: boolean; error?: string }): Promise<BuildResult>;
};
