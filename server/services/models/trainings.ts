import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { z } from 'zod';
import { runs } from '@/db/schema';
import { actorLabel, auditMetaOf, type ServiceCtx } from '../context';
import { notFound, preconditionFailed } from '../errors';
import { trainingView, trainWorkflowIdOf, type TrainingRunInput, type TrainingView } from './training-run';
import type { TrainingRef, TrainModelInput } from './schemas';
import { prepareTraining } from './train-model-version';

export type { TrainingState, TrainingView } from './training-run';

/**
 * Starts a training as the train form asks and returns at once, after the quick checks (spec,
 * dataset, columns: their mistakes are answered here). The training runs on a Temporal worker
 * (`trainWorkflow`, id `train-<runId>`), not in this process: the run row holds the request, the
 * progress the worker reports and the outcome, so any web process answers `getTraining` and a web
 * restart loses nothing. The version is audited `model.train` as the user who started it.
 */
export async function startTraining({ ctx, input }: { ctx: ServiceCtx; input: z.input<typeof TrainModelInput> }): Promise<TrainingView> {
  const workflows = ctx.workflows;
  if (!workflows) throw preconditionFailed('Temporal is not available in this role: training runs on a worker');
  const meta = auditMetaOf(ctx);
  const prepared = await prepareTraining(ctx, input);
  const runId = randomUUID();
  const runInput: TrainingRunInput = {
    modelName: prepared.input.modelName,
    dataset: prepared.dataset.name,
    environment: prepared.input.environment,
    spec: prepared.input.spec,
    algorithm: prepared.spec.algorithm,
    actor: meta.actor,
    requestId: meta.requestId,
  };
  const [row] = await ctx.db
    .insert(runs)
    .values({
      id: runId,
      projectId: prepared.input.projectId,
      kind: 'train',
      status: 'queued',
      workflowId: trainWorkflowIdOf(runId),
      input: runInput as unknown as Record<string, unknown>,
      createdBy: actorLabel(meta.actor).actorLabel,
    })
    .returning();
  try {
    await workflows.startTraining({ runId, projectId: prepared.input.projectId });
  } catch (err) {
    console.error(`training ${runId}: the workflow could not be started`, err);
    await ctx.db
      .update(runs)
      .set({ status: 'failed', error: 'the training could not be started: Temporal did not accept the workflow', finishedAt: new Date() })
      .where(and(eq(runs.id, runId), eq(runs.status, 'queued')));
    throw preconditionFailed(`Training ${runId} could not be started: Temporal did not accept the workflow`);
  }
  return trainingView(row!);
}

async function runOf(ctx: ServiceCtx, input: z.output<typeof TrainingRef>) {
  const [row] = await ctx.db
    .select()
    .from(runs)
    .where(and(eq(runs.id, input.trainingId), eq(runs.projectId, input.projectId), eq(runs.kind, 'train')));
  if (!row) throw notFound('training');
  return row;
}

export async function getTraining({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof TrainingRef> }): Promise<TrainingView> {
  return trainingView(await runOf(ctx, input));
}

/** Asks the worker to stop; the run says `cancelled` once the training has stopped (nothing is registered). */
export async function cancelTraining({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof TrainingRef> }): Promise<TrainingView> {
  const row = await runOf(ctx, input);
  if (row.status === 'queued' || row.status === 'running') {
    if (!ctx.workflows) throw preconditionFailed('Temporal is not available in this role');
    await ctx.workflows.cancel(row.workflowId);
  }
  return trainingView(row);
}
