import { and, eq, inArray } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { runs } from '@/db/schema';
import type { Actor, ServiceCtx } from '../context';
import { ServiceError } from '../errors';
import type { RegisteredVersion } from './register-version';
import { prepareTraining, runTraining, type TrainModelProgress } from './train-model-version';

export const trainWorkflowIdOf = (runId: string) => `train-${runId}`;

export type TrainingState = 'running' | 'succeeded' | 'failed' | 'cancelled';

/** What the train form stored on the run (`runs.input`); the worker trains from this alone. */
export type TrainingRunInput = {
  modelName: string;
  dataset: string;
  environment: 'design' | 'production';
  spec: Record<string, unknown>;
  algorithm: string;
  /** Who started it: the version is audited `model.train` as them. */
  actor: Actor;
  requestId: string | null;
};

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

type RunRow = typeof runs.$inferSelect;
type StoredResult = { registered?: RegisteredVersion; errorField?: string };

export function trainingView(row: RunRow): TrainingView {
  const input = row.input as unknown as TrainingRunInput;
  const result = (row.result ?? {}) as StoredResult;
  const state: TrainingState = row.status === 'succeeded' || row.status === 'failed' || row.status === 'cancelled' ? row.status : 'running';
  return {
    id: row.id,
    projectId: row.projectId,
    modelName: input.modelName,
    dataset: input.dataset,
    algorithm: input.algorithm,
    state,
    progress: (row.progress as TrainModelProgress | null) ?? null,
    result: result.registered ?? null,
    error: row.error === null ? null : { message: row.error, ...(result.errorField ? { field: result.errorField } : {}) },
    startedBy: row.createdBy,
    startedAt: new Date(row.createdAt).toISOString(),
    finishedAt: row.finishedAt ? new Date(row.finishedAt).toISOString() : null,
  };
}

/** Why a stored training did not train: the user's mistake (recorded on the run) or no such run. */
export class TrainingRunError extends Error {
  constructor(
    readonly type: 'invalid' | 'run-not-found',
    message: string,
  ) {
    super(message);
  }
}

export type TrainingOutcome = { runId: string; status: 'succeeded' | 'failed' | 'cancelled'; version: number | null };

const outcomeOf = (row: RunRow): TrainingOutcome | null =>
  row.status === 'succeeded' || row.status === 'failed' || row.status === 'cancelled'
    ? { runId: row.id, status: row.status, version: ((row.result ?? {}) as StoredResult).registered?.version.version ?? null }
    : null;

/** Progress lands in runs.progress at most this often (the form polls every 300 ms). */
const PROGRESS_WRITE_EVERY_MS = 500;

/**
 * Trains what a run stored (the train workflow's activity calls this). Idempotent by run: a run
 * already finished returns its outcome; otherwise this trains from scratch and registers the
 * version in the transaction that marks the run succeeded, so a retry after a crash registers once.
 * The user's mistake (the dataset changed since the form checked it) fails the run with the reason.
 */
export async function runStoredTraining(db: Db, runId: string, control: { signal: AbortSignal; heartbeat: (detail: string) => void }): Promise<TrainingOutcome> {
  const [row] = await db.select().from(runs).where(and(eq(runs.id, runId), eq(runs.kind, 'train')));
  if (!row) throw new TrainingRunError('run-not-found', `training run ${runId} was not found`);
  const done = outcomeOf(row);
  if (done) return done;
  await db.update(runs).set({ status: 'running', startedAt: row.startedAt ?? new Date(), progress: null }).where(eq(runs.id, runId));
  const input = row.input as unknown as TrainingRunInput;
  const ctx: ServiceCtx = { db, actor: input.actor, requestId: input.requestId ?? runId, clientIp: null };
  const progress = progressWriter(db, runId, control.heartbeat);
  try {
    const prepared = await prepareTraining(ctx, { projectId: row.projectId, modelName: input.modelName, dataset: input.dataset, environment: input.environment, spec: input.spec });
    const registered = await runTraining(ctx, prepared, { signal: control.signal, onProgress: progress }, async (tx, registered) => {
      await tx
        .update(runs)
        .set({ status: 'succeeded', result: { registered } as Record<string, unknown>, finishedAt: new Date() })
        .where(and(eq(runs.id, runId), eq(runs.status, 'running')));
    });
    return { runId, status: 'succeeded', version: registered.version.version };
  } catch (err) {
    if (control.signal.aborted || !(err instanceof ServiceError) || err.kind === 'TooManyRequests') throw err;
    await finishTrainingRun(db, runId, 'failed', err.message, err.field);
    throw new TrainingRunError('invalid', err.message);
  }
}

/** Records a training that failed or was cancelled; a no-op once the run finished. */
export async function finishTrainingRun(db: Db, runId: string, status: 'failed' | 'cancelled', error: string, field?: string): Promise<TrainingOutcome> {
  await db
    .update(runs)
    .set({ status, error, finishedAt: new Date(), ...(field ? { result: { errorField: field } } : {}) })
    .where(and(eq(runs.id, runId), inArray(runs.status, ['queued', 'running'])));
  const [row] = await db.select().from(runs).where(eq(runs.id, runId));
  if (!row) throw new TrainingRunError('run-not-found', `training run ${runId} was not found`);
  return outcomeOf(row) ?? { runId, status, version: null };
}

/**
 * Heartbeats every report and stores the newest in runs.progress at most every
 * PROGRESS_WRITE_EVERY_MS (at once on a stage change), chained so writes land in order, and only
 * while the run is running (a late write never overwrites the outcome).
 */
function progressWriter(db: Db, runId: string, heartbeat: (detail: string) => void) {
  let last = 0;
  let stage: string | null = null;
  let chain: Promise<unknown> = Promise.resolve();
  return (p: TrainModelProgress) => {
    heartbeat(p.stage);
    const t = performance.now();
    if (p.stage === stage && t - last < PROGRESS_WRITE_EVERY_MS) return;
    stage = p.stage;
    last = t;
    const snapshot = { ...p } as Record<string, unknown>;
    chain = chain
      .then(() => db.update(runs).set({ progress: snapshot }).where(and(eq(runs.id, runId), eq(runs.status, 'running'))))
      .catch((err: unknown) => console.warn(`training ${runId}: progress not stored`, err));
  };
}

