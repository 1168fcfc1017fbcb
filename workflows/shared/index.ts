/**
 * What workflows, activities, the worker and the client agree on. Imported by sandboxed workflow code:
 * no Node builtins, no I/O, nothing but types and constants.
 */

/** The default task queue; deployments override it with TEMPORAL_TASK_QUEUE. */
export const DEFAULT_TASK_QUEUE = 'stagebook';

/** Workflow type names are wire API: renaming one orphans every execution already running. */
export const workflowNames = {
  build: 'buildWorkflow',
  train: 'trainWorkflow',
} as const;
export type WorkflowName = (typeof workflowNames)[keyof typeof workflowNames];

/** Failure types an activity or workflow throws as non-retryable `ApplicationFailure`s. */
export const failureTypes = {
  invalidInput: 'InvalidInput',
  runNotFound: 'RunNotFound',
  runAlreadyFinished: 'RunAlreadyFinished',
} as const;

export * from './build';
export * from './train';
