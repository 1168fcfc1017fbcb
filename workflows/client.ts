import { Client, Connection, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type WorkflowClientInterceptor } from '@temporalio/client';
import { syncScenarioTriggers } from '@/server/services/scenarios/triggers/sync-triggers';
import type { WorkflowStarter } from '@/server/services/workflow-starter';
import { buildWorkflowId, trainWorkflowId, workflowNames, type BuildInput, type TrainInput } from './shared';
import { scenarioRunWorkflowId, scenarioWorkflowNames, type ScenarioRunInput } from './shared/scenario';
import type { buildWorkflow, scenarioRunWorkflow, trainWorkflow } from './workflows';

export async function connectTemporal(
  address: string,
  namespace: string,
  opts: { connectTimeout?: string; interceptors?: WorkflowClientInterceptor[] } = {},
): Promise<Client> {
  const connection = await Connection.connect({ address, connectTimeout: opts.connectTimeout ?? '10 seconds' });
  return new Client({ connection, namespace, ...(opts.interceptors ? { interceptors: { workflow: opts.interceptors } } : {}) });
}

/**
 * The services' narrow view of Temporal. Workflow ids are `<kind>-<run id>` and never reused, so
 * starting a run twice (a retried request) reaches the one execution instead of creating another.
 */
export function createWorkflowStarter(client: Client, taskQueue: string): WorkflowStarter {
  // Already ran to completion: REJECT_DUPLICATE refuses, and for the caller that is success; while
  // the first start is still running, USE_EXISTING returns it.
  const startOnce = async (workflowType: string, workflowId: string, args: unknown[]) => {
    try {
      await client.workflow.start(workflowType, {
        workflowId,
        taskQueue,
        args,
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    return { workflowId };
  };
  return {
    startBuild: (input: BuildInput) =>
      startOnce(workflowNames.build, buildWorkflowId(input.runId), [input] satisfies Parameters<typeof buildWorkflow>),
    startScenarioRun: (input: ScenarioRunInput & { runId: string }) =>
      startOnce(scenarioWorkflowNames.run, scenarioRunWorkflowId(input.runId), [input] satisfies Parameters<typeof scenarioRunWorkflow>),
    startTraining: (input: TrainInput) => startOnce(workflowNames.train, trainWorkflowId(input.runId), [input] satisfies Parameters<typeof trainWorkflow>),

    syncScenarioTriggers: (input) => syncScenarioTriggers({ client, taskQueue, ...input }),

    async cancel(workflowId: string) {
      try {
        await client.workflow.getHandle(workflowId).cancel();
      } catch (err) {
        // Cancelling a workflow that already finished (or never existed) leaves nothing to do.
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
    },
  };
}

/** Whether a workflow execution is still running, has closed (completed, failed, terminated, timed out), or is unknown to Temporal. */
export async function workflowState(client: Client, workflowId: string): Promise<'running' | 'closed' | 'missing'> {
  try {
    const d = await client.workflow.getHandle(workflowId).describe();
    return d.status.name === 'RUNNING' ? 'running' : 'closed';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'missing';
    throw err;
  }
}
