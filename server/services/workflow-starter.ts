/**
 * What services need of Temporal, kept narrow so services do not depend on the client library and
 * tests can see exactly which workflows were started.
 */
export type WorkflowStarter = {
  startHelloRun: (input: { runId: string; projectId: string; message: string; stepDelayMs?: number }) => Promise<{ workflowId: string }>;
  /** Starts `buildWorkflow` as `build-<runId>`; the run, its graph and its steps are already stored. */
  startBuild: (input: { runId: string; projectId: string; environment: 'design' | 'production' }) => Promise<{ workflowId: string }>;
  cancel: (workflowId: string) => Promise<void>;
};
