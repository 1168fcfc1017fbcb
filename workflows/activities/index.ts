import { ApplicationFailure, Context } from '@temporalio/activity';
import { and, eq, inArray, notInArray, sql } from 'drizzle-orm';
import type { Db, Tx } from '@/db/client';
import { projects, runs, runSteps, type RunStatus } from '@/db/schema';
import { emitAudit } from '@/server/services/audit/emit';
import type { BuildActivities, GreetingOutput, HelloRunActivities, HelloRunResult, HelloRunStep } from '../shared';
import { failureTypes } from '../shared';
import { createBuildActivities, type BuildActivityOptions } from './build';
import { createNotificationActivities, type NotificationActivityOptions } from './notifications';
import type { NotificationActivities } from '../shared/notifications';
import type { ScenarioActivities } from '../shared/scenario';
import { createScenarioActivities, type ScenarioActivityOptions } from './scenario';
import type { ScenarioWatchActivities } from '../shared/scenario-watch';
import { createScenarioWatchActivities } from './scenario-watch';

export type ActivityDeps = { db: Db; build?: BuildActivityOptions; notifications?: NotificationActivityOptions; scenario?: ScenarioActivityOptions };

const finishedStatuses: RunStatus[] = ['succeeded', 'failed', 'cancelled'];
const HEARTBEAT_INTERVAL_MS = 200;

/**
 * Every activity is idempotent, keyed by (run id, step): a retry after a crash, a timeout or a
 * re-delivery finds the step already recorded and returns what was stored instead of redoing it.
 */
export function createActivities({
  db,
  build,
  notifications,
  scenario,
}: ActivityDeps): HelloRunActivities & BuildActivities & NotificationActivities & ScenarioWatchActivities & ScenarioActivities {
  return {
    ...createHelloRunActivities(db),
    ...createBuildActivities(db, build),
    ...createNotificationActivities(db, notifications),
    ...createScenarioWatchActivities(db),
    ...createScenarioActivities(db, scenario),
  };
}

function createHelloRunActivities(db: Db): HelloRunActivities {
  return {
    async markRunning({ runId }) {
      await db.transaction(async (tx) => {
        const [updated] = await tx
          .update(runs)
          .set({ status: 'running', startedAt: sql`coalesce(${runs.startedAt}, now())` })
          .where(and(eq(runs.id, runId), inArray(runs.status, ['queued', 'running'])))
          .returning({ id: runs.id });
        if (!updated) await failForMissingOrFinishedRun(tx, runId);
        await recordStep(tx, runId, 'markRunning', {});
      });
    },

    async recordGreeting({ runId, message, stepDelayMs }) {
      const stored = await readStep(db, runId, 'recordGreeting');
      if (stored) return stored as GreetingOutput;

      const ctx = Context.current();
      // Resume the wait where the last attempt's heartbeat left it, so a retry does not start over.
      let waitedMs = typeof ctx.info.heartbeatDetails === 'number' ? ctx.info.heartbeatDetails : 0;
      ctx.heartbeat(waitedMs);
      while (waitedMs < stepDelayMs) {
        const slice = Math.min(HEARTBEAT_INTERVAL_MS, stepDelayMs - waitedMs);
        await ctx.sleep(slice); // throws CancelledFailure when the activity is cancelled
        waitedMs += slice;
        ctx.heartbeat(waitedMs);
      }

      const output: GreetingOutput = { greeting: `Hello, ${message}!`, attempt: ctx.info.attempt };
      // Two attempts can race here (a timed-out one still running): the first insert wins and both
      // return the stored row.
      return (await db.transaction(async (tx) => {
        const inserted = await recordStep(tx, runId, 'recordGreeting', output);
        return inserted ? output : ((await readStep(tx, runId, 'recordGreeting')) ?? output);
      })) as GreetingOutput;
    },

    async completeRun({ runId, greeting }) {
      const result: HelloRunResult = { runId, greeting };
      const workflowId = callingWorkflowId();
      await db.transaction(async (tx) => {
        // The status guard makes completion happen once: a retried attempt updates nothing and so
        // emits no second audit event.
        const [completed] = await tx
          .update(runs)
          .set({ status: 'succeeded', finishedAt: sql`now()`, result, error: null })
          .where(and(eq(runs.id, runId), notInArray(runs.status, finishedStatuses)))
          .returning({ projectId: runs.projectId, kind: runs.kind, startedAt: runs.startedAt });
        if (completed) {
          const teamId = await teamOf(tx, completed.projectId);
          await emitAudit(
            tx,
            { actor: { type: 'workflow', workflowId } },
            {
              action: 'run.complete',
              target: { type: 'run', id: runId },
              teamId,
              projectId: completed.projectId,
              details: { kind: completed.kind, status: 'succeeded', result },
            },
          );
        } else {
          const [run] = await tx.select({ status: runs.status }).from(runs).where(eq(runs.id, runId));
          if (!run) throw ApplicationFailure.nonRetryable(`run ${runId} does not exist`, failureTypes.runNotFound);
          if (run.status !== 'succeeded') {
            throw ApplicationFailure.nonRetryable(`run ${runId} already finished as ${run.status}`, failureTypes.runAlreadyFinished);
          }
        }
        await recordStep(tx, runId, 'completeRun', result);
      });
      return result;
    },

    async finishRunUnsuccessfully({ runId, status, error }) {
      const workflowId = callingWorkflowId();
      await db.transaction(async (tx) => {
        const [finished] = await tx
          .update(runs)
          .set({ status, error, finishedAt: sql`now()` })
          .where(and(eq(runs.id, runId), notInArray(runs.status, finishedStatuses)))
          .returning({ projectId: runs.projectId, kind: runs.kind });
        if (!finished) return;
        await emitAudit(
          tx,
          { actor: { type: 'workflow', workflowId } },
          {
            action: 'run.complete',
            target: { type: 'run', id: runId },
            teamId: await teamOf(tx, finished.projectId),
            projectId: finished.projectId,
            details: { kind: finished.kind, status, error },
          },
        );
      });
    },
  };
}

/** Returns true when this call wrote the row, false when the step was already recorded. */
async function recordStep(tx: Tx, runId: string, step: HelloRunStep, output: Record<string, unknown>): Promise<boolean> {
  const rows = await tx
    .insert(runSteps)
    .values({ runId, step, output })
    .onConflictDoNothing({ target: [runSteps.runId, runSteps.step] })
    .returning({ step: runSteps.step });
  return rows.length > 0;
}

async function readStep(db: Db | Tx, runId: string, step: HelloRunStep): Promise<Record<string, unknown> | null> {
  const [row] = await db
    .select({ output: runSteps.output })
    .from(runSteps)
    .where(and(eq(runSteps.runId, runId), eq(runSteps.step, step)));
  return row?.output ?? null;
}

async function teamOf(tx: Tx, projectId: string): Promise<string | null> {
  const [project] = await tx.select({ teamId: projects.teamId }).from(projects).where(eq(projects.id, projectId));
  return project?.teamId ?? null;
}

/** The audit actor of an activity is the workflow that scheduled it. */
function callingWorkflowId(): string {
  const execution = Context.current().info.workflowExecution;
  if (!execution) throw new Error('run activities must be scheduled by a workflow');
  return execution.workflowId;
}

async function failForMissingOrFinishedRun(tx: Tx, runId: string): Promise<never> {
  const [run] = await tx.select({ status: runs.status }).from(runs).where(eq(runs.id, runId));
  if (!run) throw ApplicationFailure.nonRetryable(`run ${runId} does not exist`, failureTypes.runNotFound);
  throw ApplicationFailure.nonRetryable(`run ${runId} already finished as ${run.status}`, failureTypes.runAlreadyFinished);
}
