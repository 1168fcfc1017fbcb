/**
 * What workflows, activities, the worker and the client agree on. Imported by sandboxed workflow code:
 * no Node builtins, no I/O, nothing but types and constants.
 */

/** The default task queue; deployments override it with TEMPORAL_TASK_QUEUE. */
export const DEFAULT_TASK_QUEUE = 'stagebook';

/** Workflow type names are wire API: renaming one orphans every execution already running. */
export const workflowNames = {
  helloRun: 'helloRunWorkflow',
  build: 'buildWorkflow',
} as const;
export type WorkflowName = (typeof workflowNames)[keyof typeof workflowNames];

/** Workflow ids are business ids, so starting the same run twice addresses the same execution. */
export const helloRunWorkflowId = (runId: string): string => `hello-${runId}`;

/** Each step writes one `run_steps` row keyed by (run id, step). */
export const helloRunSteps = ['markRunning', 'recordGreeting', 'completeRun'] as const;
export type HelloRunStep = (typeof helloRunSteps)[number];

export type HelloRunInput = {
  runId: string;
  projectId: string;
  message: string;
  /** How long the greeting step takes; tests use it to kill a worker mid-activity. */
  stepDelayMs?: number;
};

export type HelloRunResult = {
  runId: string;
  greeting: string;
};

/** Upper bound the workflow accepts for `stepDelayMs`; the activity timeout is sized from it. */
export const MAX_HELLO_STEP_DELAY_MS = 60_000;

/** Failure types an activity or workflow throws as non-retryable `ApplicationFailure`s. */
export const failureTypes = {
  invalidInput: 'InvalidInput',
  runNotFound: 'RunNotFound',
  runAlreadyFinished: 'RunAlreadyFinished',
} as const;

export type GreetingOutput = {
  greeting: string;
  /** The activity attempt that recorded the step (> 1 after a retry, e.g. a killed worker). */
  attempt: number;
};

export type FinishedStatus = 'failed' | 'cancelled';

export type HelloRunActivities = {
  markRunning(input: { runId: string }): Promise<void>;
  recordGreeting(input: { runId: string; message: string; stepDelayMs: number }): Promise<GreetingOutput>;
  completeRun(input: { runId: string; greeting: string }): Promise<HelloRunResult>;
  /** Records a failed or cancelled run; a no-op when the run already finished. */
  finishRunUnsuccessfully(input: { runId: string; status: FinishedStatus; error: string }): Promise<void>;
};

export * from './build';
