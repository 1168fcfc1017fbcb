/**
 * What services need of Temporal, kept narrow so services do not depend on the client library and
 * tests can see exactly which workflows were started.
 */
export type WorkflowStarter = {
  startHelloRun: (input: { runId: string; projectId: string; message: string; stepDelayMs?: number }) => Promise<{ workflowId: string }>;
  cancel: (workflowId: string) => Promise<void>;
};
