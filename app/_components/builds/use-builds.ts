'use client';

import { useMutation, useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTRPC } from '../trpc';
import { isLive, type Build, type BuildTarget } from './build-types';

/** While a build moves, its steps are polled every second; a finished one is left alone. */
const LIVE_POLL_MS = 1_000;
/** Someone else may start a build of the same notebook: the list is looked at now and then. */
const IDLE_POLL_MS = 5_000;

export function useBuild(projectId: string, runId: string | null | undefined) {
  const trpc = useTRPC();
  return useQuery(
    trpc.builds.get.queryOptions(
      { projectId, runId: runId ?? '' },
      { enabled: Boolean(runId), refetchInterval: (q) => (isLive(q.state.data?.status) ? LIVE_POLL_MS : false), staleTime: 0 },
    ),
  );
}

export function useBuildList(projectId: string, notebookId?: string, limit = 20) {
  const trpc = useTRPC();
  return useQuery(
    trpc.builds.list.queryOptions(
      { projectId, ...(notebookId ? { notebookId } : {}), limit },
      { refetchInterval: (q) => (q.state.data?.some((b) => isLive(b.status)) ? LIVE_POLL_MS : IDLE_POLL_MS) },
    ),
  );
}

/** Module-level, so useQueries keeps the combined array's identity while no build changed. */
const loadedBuilds = (results: { data?: Build }[]): Build[] => results.map((r) => r.data).filter((b): b is Build => b !== undefined);

/**
 * The notebook's recent builds with their steps, newest first: the newest is polled while it runs;
 * finished ones never change, so they are fetched once. A cell shows its step from the newest build
 * that ran it (running one cell leaves the others' last results in place).
 */
export function useRecentBuilds(projectId: string, notebookId: string, count = 5): { latest: Build | undefined; builds: Build[] } {
  const trpc = useTRPC();
  const list = useBuildList(projectId, notebookId, count);
  const summaries = list.data ?? [];
  const builds = useQueries({
    queries: summaries.map((s) =>
      trpc.builds.get.queryOptions(
        { projectId, runId: s.runId },
        // Decided by the build's own last answer, not the list's: the list may see it finish first.
        { refetchInterval: (q) => (isLive(q.state.data?.status) ? LIVE_POLL_MS : false), staleTime: (q) => (q.state.data && !isLive(q.state.data.status) ? Infinity : 0) },
      ),
    ),
    combine: loadedBuilds,
  });
  const newest = summaries[0];
  return { latest: newest && builds[0]?.runId === newest.runId ? builds[0] : undefined, builds };
}

export function useBuildActions(projectId: string, notebookId?: string) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.builds.list.queryKey() }),
      queryClient.invalidateQueries({ queryKey: trpc.builds.get.queryKey() }),
    ]);
  const start = useMutation(trpc.builds.start.mutationOptions({ onSettled: refresh }));
  const cancel = useMutation(trpc.builds.cancel.mutationOptions({ onSettled: refresh }));
  return {
    start: (target: BuildTarget) => {
      if (!notebookId) throw new Error('a build starts from a notebook');
      cancel.reset();
      start.mutate({ projectId, notebookId, target });
    },
    cancel: (runId: string) => {
      start.reset();
      cancel.mutate({ projectId, runId });
    },
    starting: start.isPending ? (start.variables.target ?? { kind: 'all' as const }) : null,
    /** What the last start answered: the run, and (notebook contract) the cells it left out and why. */
    started: start.data as (typeof start.data & { skipped?: { cellId: string; name: string; reason: string }[] }) | undefined,
    cancelling: cancel.isPending,
    error: start.error ?? cancel.error,
    dismissError: () => {
      start.reset();
      cancel.reset();
    },
  };
}
