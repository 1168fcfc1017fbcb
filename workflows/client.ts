import { Client, Connection, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { WorkflowStarter } from '@/server/services/workflow-starter';
import { buildWorkflowId, helloRunWorkflowId, workflowNames, type BuildInput, type HelloRunInput } from './shared';
import type { buildWorkflow, helloRunWorkflow } from './workflows';

export async function connectTemporal(address: string, namespace: string, opts: { connectTimeout?: string } = {}): Promise<Client> {
  const connection = await Connection.connect({ address, connectTimeout: opts.connectTimeout ?? '10 seconds' });
  return new Client({ connection, namespace });
}

/**
 * The services' narrow view of Temporal. Workflow ids are `<kind>-<run id>` and never reused, so
 * starting a run twice (a retried request) reaches the one execution instead of creating another.
 */
export function createWorkflowStarter(client: Client, taskQueue: string): WorkflowStarter {
  return {
    async startHelloRun(input: HelloRunInput) {
      const workflowId = helloRunWorkflowId(input.runId);
      await startOnce(() =>
        client.workflow.start<typeof helloRunWorkflow>(workflowNames.helloRun, {
          workflowId,
          taskQueue,
          args: [input],
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          // While the first start is still running a second start returns it.
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      );
      return { workflowId };
    },

    async startBuild(input: BuildInput) {
      const workflowId = buildWorkflowId(input.runId);
      await startOnce(() =>
        client.workflow.start<typeof buildWorkflow>(workflowNames.build, {
          workflowId,
          taskQueue,
          args: [input],
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      );
      return { workflowId };
    },

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

async function startOnce(start: () => Promise<unknown>): Promise<void> {
  try {
    await start();
  } catch (err) {
    // Already ran to completion: REJECT_DUPLICATE refuses, and for the caller that is success.
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}
