import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { actorLabel, auditMetaOf, type ServiceCtx } from '../context';
import { notFound, ServiceError } from '../errors';
import type { RegisteredVersion } from './register-version';
import type { TrainingRef, TrainModelInput } from './schemas';
import { prepareTraining, runTraining, type TrainModelProgress } from './train-model-version';

export type TrainingState = 'running' | 'succeeded' | 'failed' | 'cancelled';

export type TrainingView = {
  id: string;
  projectId: string;
  modelName: string;
  dataset: string;
  algorithm: string;
  state: TrainingState;
  progress: TrainModelProgress | null;
  result: RegisteredVersion | null;
  error: { message: string; field?: string } | null;
  startedBy: string;
  startedAt: string;
  finishedAt: string | null;
};

type Job = TrainingView & { controller: AbortController };

/** Finished trainings stay visible this long, for the page that started them to read the outcome. */
const KEEP_FINISHED_MS = 15 * 60_000;
const MAX_JOBS = 200;
const jobs = new Map<string, Job>();

function prune(now = Date.now()) {
  for (const [id, j] of jobs) {
    if (j.finishedAt && now - Date.parse(j.finishedAt) > KEEP_FINISHED_MS) jobs.delete(id);
  }
  for (const [id, j] of jobs) {
    if (jobs.size <= MAX_JOBS) break;
    if (j.state !== 'running') jobs.delete(id);
  }
}

const view = ({ controller: _c, ...v }: Job): TrainingView => ({ ...v, progress: v.progress ? { ...v.progress } : null });

/**
 * Starts training in the background of this process and returns at once, after the quick checks
 * (spec, dataset, columns: their mistakes are answered here). The UI polls `getTraining` for
 * progress and the new version, and may cancel it.
 *
 * The job lives in this process's memory: polling must reach the process that started it (role
 * `all`, or a sticky web tier). Durable training with retries is the build workflow's train step,
 * which calls trainModelVersion from an activity.
 */
export async function startTraining({ ctx, input }: { ctx: ServiceCtx; input: z.input<typeof TrainModelInput> }): Promise<TrainingView> {
  const meta = auditMetaOf(ctx);
  const prepared = await prepareTraining(ctx, input);
  prune();
  const controller = new AbortController();
  const job: Job = {
    id: randomUUID(),
    projectId: prepared.input.projectId,
    modelName: prepared.input.modelName,
    dataset: prepared.dataset.name,
    algorithm: prepared.spec.algorithm,
    state: 'running',
    progress: null,
    result: null,
    error: null,
    startedBy: actorLabel(meta.actor).actorLabel,
    startedAt: new Date().toISOString(),
    finishedAt: null,
    controller,
  };
  jobs.set(job.id, job);
  void runTraining(ctx, prepared, { signal: controller.signal, onProgress: (p) => (job.progress = p) }).then(
    (result) => {
      job.result = result;
      job.state = 'succeeded';
      job.finishedAt = new Date().toISOString();
    },
    (err: unknown) => {
      job.finishedAt = new Date().toISOString();
      if (controller.signal.aborted) {
        job.state = 'cancelled';
        job.error = { message: 'the training was cancelled' };
        return;
      }
      job.state = 'failed';
      if (err instanceof ServiceError) job.error = { message: err.message, ...(err.field ? { field: err.field } : {}) };
      else {
        console.error('training failed', err);
        job.error = { message: 'the training failed unexpectedly (the server log has the cause)' };
      }
    },
  );
  return view(job);
}

function jobOf(input: z.output<typeof TrainingRef>): Job {
  const job = jobs.get(input.trainingId);
  if (!job || job.projectId !== input.projectId) throw notFound('training (it may have finished more than 15 minutes ago, or run in another server process)');
  return job;
}

export async function getTraining({ input }: { ctx: ServiceCtx; input: z.output<typeof TrainingRef> }): Promise<TrainingView> {
  return view(jobOf(input));
}

export async function cancelTraining({ input }: { ctx: ServiceCtx; input: z.output<typeof TrainingRef> }): Promise<TrainingView> {
  const job = jobOf(input);
  if (job.state === 'running') job.controller.abort(new Error('cancelled'));
  return view(job);
}
