'use client';

import Link from 'next/link';
import { BuildStatusBadge } from '../builds/status-badge';
import { formatSpan } from '../builds/run-timeline';
import { formatDateTime } from '../format';
import { EmptyState, ErrorMessage, Loading } from '../ui';
import { describeRunTrigger, runDurationMs, scenarioRunHref, type ScenarioRunSummary } from './scenario-types';
import { useNow } from './scenario-timeline';
import { useScenarioRuns } from './use-scenarios';

const bundleHref = (projectId: string, hash: string) => `/projects/${projectId}/bundles/${hash}`;

/** Scenario runs, newest first (skipped ones too: the overlap policy's refusals are worth seeing). */
export function ScenarioRunsTable({ projectId, scenario, limit = 20 }: { projectId: string; scenario?: string; limit?: number }) {
  const runs = useScenarioRuns(projectId, scenario, limit);
  const live = runs.data?.some((r) => r.status === 'running' || r.status === 'queued') ?? false;
  const now = useNow(live, 1_000);
  if (runs.isPending) return <Loading />;
  if (runs.isError) return <ErrorMessage error={runs.error} />;
  if (runs.data.length === 0) return <EmptyState title="No runs yet.">Press Run now, or wait for a trigger.</EmptyState>;
  return (
    <div className="table-scroll">
      <table className="table scenario-runs-table">
        <thead>
          <tr>
            <th>Status</th>
            {!scenario && <th>Scenario</th>}
            <th>Trigger</th>
            <th>Started</th>
            <th className="align-right">Duration</th>
            <th>Bundle</th>
          </tr>
        </thead>
        <tbody>
          {runs.data.map((r) => (
            <RunRow key={r.runId} projectId={projectId} run={r} showScenario={!scenario} now={now} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function RunRow({ projectId, run: r, showScenario, now }: { projectId: string; run: ScenarioRunSummary; showScenario: boolean; now: number }) {
  const trigger = describeRunTrigger(r.trigger);
  const duration = runDurationMs(r, now);
  return (
    <tr data-run={r.runId} data-status={r.status}>
      <td className="nowrap">
        <Link href={scenarioRunHref(projectId, r.runId)} aria-label={`Run ${r.runId.slice(0, 8)} of ${r.scenario}: ${r.status}`}>
          <BuildStatusBadge status={r.status} />
        </Link>
      </td>
      {showScenario && (
        <td>
          <Link href={scenarioRunHref(projectId, r.runId)} className="strong-link">
            {r.scenario}
          </Link>
        </td>
      )}
      <td>
        <span className="trigger-kind">{trigger.kind}</span>
        {trigger.detail && <span className="muted"> {trigger.detail}</span>}
        {r.status === 'skipped' && r.error && <div className="muted small">{r.error}</div>}
      </td>
      <td className="nowrap">{formatDateTime(r.startedAt ?? r.createdAt)}</td>
      <td className="align-right nowrap tabular">{duration !== null ? formatSpan(duration) : '—'}</td>
      <td>
        {r.bundleHash ? (
          <Link className="mono" href={bundleHref(projectId, r.bundleHash)} title={r.bundleHash}>
            {r.bundleHash.slice(0, 12)}
          </Link>
        ) : (
          <span className="muted">—</span>
        )}
      </td>
    </tr>
  );
}
