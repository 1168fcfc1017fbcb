import { and, desc, eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { runs, type RunStatus } from '@/db/schema';

/** The notebook's last design build, as the promote dialog shows it. */
export type LastBuild = {
  runId: string;
  status: RunStatus;
  /** The graph it built; `matchesCurrent`: the graph being promoted. */
  graphHash: string | null;
  matchesCurrent: boolean;
  createdAt: string;
  finishedAt: string | null;
} | null;

export async function lastDesignBuild(db: DbOrTx, notebookId: string, currentGraphHash: string): Promise<LastBuild> {
  const [run] = await db
    .select()
    .from(runs)
    .where(and(eq(runs.notebookId, notebookId), eq(runs.kind, 'build'), sql`coalesce(${runs.input}->>'environment', 'design') = 'design'`))
    .orderBy(desc(runs.createdAt), desc(runs.id))
    .limit(1);
  if (!run) return null;
  const graphHash = typeof run.input.graphHash === 'string' ? run.input.graphHash : null;
  return {
    runId: run.id,
    status: run.status,
    graphHash,
    matchesCurrent: graphHash === currentGraphHash,
    createdAt: new Date(run.createdAt).toISOString(),
    finishedAt: run.finishedAt ? new Date(run.finishedAt).toISOString() : null,
  };
}

/**
 * Why promoting needs `confirmFailedBuild`, or null when the last build succeeded or the notebook
 * has nothing to build (only endpoints, scenarios, markdown). A build of an older graph still
 * counts: the data a promoted pipeline starts from is what the last build made.
 */
export function buildConcern(last: LastBuild, buildSteps: number): string | null {
  if (!last) return buildSteps === 0 ? null : 'the notebook has never been built';
  if (last.status === 'succeeded') return null;
  return `the last build ${last.status === 'failed' || last.status === 'cancelled' ? `was ${last.status}` : `is still ${last.status}`}`;
}
