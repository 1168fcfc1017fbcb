import { and, asc, eq, inArray, lt } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { runs } from '@/db/schema';

export type WorkflowState = 'running' | 'closed' | 'missing';

/** Runs checked per sweep and kind, oldest first. */
const SWEEP_LIMIT = 100;

/**
 * Finishes runs of `kind` whose workflow ended without finishing them: terminated from the Temporal
 * UI or CLI, timed out, or gone (never started: the process died between recording the run and
 * starting its workflow). Such a workflow runs no more code, so its run would stay `running` (or
 * `queued`) forever. `finish` ends one run with the reason and says whether this call ended it.
 * Runs younger than `olderThanMs` are left alone: a start records the run just before it starts the
 * workflow. Several processes may sweep at once: `finish` must be idempotent.
 */
export async function finishOrphanedRuns(
  db: Db,
  kind: 'scenario' | 'train',
  stateOf: (workflowId: string) => Promise<WorkflowState>,
  finish: (run: { id: string; workflowId: string }, state: 'closed' | 'missing') => Promise<boolean>,
  opts: { olderThanMs?: number } = {},
): Promise<string[]> {
  const cutoff = new Date(Date.now() - (opts.olderThanMs ?? 60_000));
  const open = await db
    .select({ id: runs.id, workflowId: runs.workflowId })
    .from(runs)
    .where(and(eq(runs.kind, kind), inArray(runs.status, ['queued', 'running']), lt(runs.createdAt, cutoff)))
    .orderBy(asc(runs.createdAt))
    .limit(SWEEP_LIMIT);
  const finished: string[] = [];
  for (const run of open) {
    const state = await stateOf(run.workflowId);
    if (state === 'running') continue;
    if (await finish(run, state)) finished.push(run.id);
  }
  return finished;
}

/**
 * Training runs (the train form's `trainWorkflow`) whose workflow ended without them: failed with the
 * reason, so the form stops polling "training" and says to train again.
 */
export function finishOrphanedTrainingRuns(db: Db, stateOf: (workflowId: string) => Promise<WorkflowState>, opts: { olderThanMs?: number } = {}): Promise<string[]> {
  return finishOrphanedRuns(
    db,
    'train',
    stateOf,
    async (run, state) => {
      const error =
        state === 'missing' ? "the training's workflow no longer exists in Temporal: train again" : "the training's workflow ended without finishing it (terminated or timed out): train again";
      const updated = await db
        .update(runs)
        .set({ status: 'failed', error, finishedAt: new Date() })
        .where(and(eq(runs.id, run.id), inArray(runs.status, ['queued', 'running'])))
        .returning({ id: runs.id });
      return updated.length > 0;
    },
    opts,
  );
}
