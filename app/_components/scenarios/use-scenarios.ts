'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTRPC } from '../trpc';
import { isRunLive } from './scenario-types';

/** While a run moves it is polled every second; a finished run never changes. */
const LIVE_POLL_MS = 1_000;
/** Schedules and watchers start runs on their own: the lists look again now and then. */
const IDLE_POLL_MS = 5_000;

export function useScenarioRun(projectId: string, runId: string) {
  const trpc = useTRPC();
  return useQuery(
    trpc.scenarios.getRun.queryOptions(
      { projectId, runId },
      { refetchInterval: (q) => (isRunLive(q.state.data?.status) ? LIVE_POLL_MS : false), staleTime: 0, retry: false },
    ),
  );
}

export function useScenarios(projectId: string) {
  const trpc = useTRPC();
  return useQuery(
    trpc.scenarios.list.queryOptions({ projectId }, { refetchInterval: (q) => (q.state.data?.some((s) => isRunLive(s.lastRun?.status)) ? LIVE_POLL_MS : IDLE_POLL_MS) }),
  );
}

export function useScenarioRuns(projectId: string, scenario?: string, limit = 20) {
  const trpc = useTRPC();
  return useQuery(
    trpc.scenarios.runs.queryOptions(
      { projectId, ...(scenario ? { scenario } : {}), limit },
      { refetchInterval: (q) => (q.state.data?.some((r) => isRunLive(r.status)) ? LIVE_POLL_MS : IDLE_POLL_MS) },
    ),
  );
}

/** Run now, cancel, re-run, enable and disable; each refreshes the lists and the run it touched. */
export function useScenarioActions(projectId: string) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const refresh = (runId?: string) =>
    Promise.all([
      qc.invalidateQueries({ queryKey: trpc.scenarios.list.queryKey({ projectId }) }),
      qc.invalidateQueries({ queryKey: trpc.scenarios.runs.queryKey() }),
      runId ? qc.invalidateQueries({ queryKey: trpc.scenarios.getRun.queryKey({ projectId, runId }) }) : undefined,
    ]);
  const run = useMutation(trpc.scenarios.run.mutationOptions({ onSuccess: (r) => refresh(r.runId) }));
  const cancel = useMutation(trpc.scenarios.cancelRun.mutationOptions({ onSuccess: (r) => refresh(r.runId) }));
  const rerun = useMutation(trpc.scenarios.rerun.mutationOptions({ onSuccess: (r) => refresh(r.runId) }));
  const setEnabled = useMutation(trpc.scenarios.setEnabled.mutationOptions({ onSuccess: () => refresh() }));
  return { run, cancel, rerun, setEnabled };
}
