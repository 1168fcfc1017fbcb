/**
 * The workflow bundle's entry point (the worker's `workflowsPath`): every exported function is a
 * workflow type, registered under its export name. Deterministic code only: no I/O, clocks or
 * randomness outside the @temporalio/workflow APIs.
 */
export { buildWorkflow } from './build';
export { scenarioRunWorkflow } from './scenario-run';
export { scenarioWatchWorkflow } from './scenario-watch';
export { trainWorkflow } from './train';
