'use client';

import '../builds/builds.css';
import './scenarios.css';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { BuildStatusBadge } from '../builds/status-badge';
import { formatDateTime } from '../format';
import { Card, EmptyState, ErrorMessage, Loading } from '../ui';
import { ScenarioRunsTable } from './scenario-runs-table';
import { ConfirmButton } from '../confirm-button';
import { describeStep, describeTrigger, formatInZone, nextScheduledRun, overlapLabel, scenarioRunHref, type Scenario } from './scenario-types';
import { useScenarioActions, useScenarios } from './use-scenarios';

/**
 * The Production tab's scenarios: what the active bundle runs, when (triggers in words), its last
 * run and the next scheduled time; Run now for deployers; the project's recent runs below.
 */
export function ScenariosCard({ projectId, canRun }: { projectId: string; canRun: boolean }) {
  const scenarios = useScenarios(projectId);
  return (
    <Card title="Scenarios" id="scenarios" description="What production runs on its own: the scenario cells of the active bundle, with their triggers.">
      {scenarios.isPending ? (
        <Loading />
      ) : scenarios.isError ? (
        <ErrorMessage error={scenarios.error} />
      ) : scenarios.data.length === 0 ? (
        <EmptyState title="No scenarios deployed.">Add a Scenario cell to a notebook (triggers and steps in YAML), promote it and deploy the bundle.</EmptyState>
      ) : (
        <div className="stack">
          <div className="table-scroll">
            <table className="table scenarios-table">
              <thead>
                <tr>
                  <th>Scenario</th>
                  <th>Triggers</th>
                  <th>Steps</th>
                  <th>Last run</th>
                  <th>Next</th>
                  <th>
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {scenarios.data.map((s) => (
                  <ScenarioRow key={s.name} projectId={projectId} scenario={s} canRun={canRun} />
                ))}
              </tbody>
            </table>
          </div>
          <h3 className="subhead">Recent runs</h3>
          <ScenarioRunsTable projectId={projectId} limit={10} />
        </div>
      )}
    </Card>
  );
}

/** Disable (pauses its Schedules, stops its watchers, refuses runs) or enable again; no new bundle. */
function EnableToggle({ projectId, scenario: s }: { projectId: string; scenario: Scenario }) {
  const { setEnabled } = useScenarioActions(projectId);
  const toggle = (enabled: boolean) => setEnabled.mutate({ projectId, scenario: s.name, enabled });
  const syncProblem = setEnabled.data?.triggers.status === 'failed' ? setEnabled.data.triggers.message : null;
  return (
    <>
      {s.enabled ? (
        <ConfirmButton label="Disable" confirmLabel="Disable" question={`Pause ${s.name}'s triggers and refuse its runs?`} pending={setEnabled.isPending} onConfirm={() => toggle(false)} />
      ) : (
        <button type="button" className="btn btn-sm" onClick={() => toggle(true)} disabled={setEnabled.isPending} aria-label={`Enable ${s.name}`}>
          {setEnabled.isPending ? 'Enabling…' : 'Enable'}
        </button>
      )}
      {syncProblem && (
        <p className="row-error" role="alert">
          {syncProblem}
        </p>
      )}
      <ErrorMessage error={setEnabled.error} />
    </>
  );
}

function ScenarioRow({ projectId, scenario: s, canRun }: { projectId: string; scenario: Scenario; canRun: boolean }) {
  const router = useRouter();
  const { run } = useScenarioActions(projectId);
  const [skipped, setSkipped] = useState<string | null>(null);
  const next = s.enabled ? nextScheduledRun(s.triggers) : null;
  const runNow = () => {
    setSkipped(null);
    run.mutate(
      { projectId, scenario: s.name },
      {
        onSuccess: (r) => {
          if (r.status === 'skipped') setSkipped(r.reason ?? 'skipped by the overlap policy');
          else router.push(scenarioRunHref(projectId, r.runId));
        },
      },
    );
  };
  return (
    <tr data-scenario={s.name}>
      <td>
        <strong className="mono">{s.name}</strong>
        {!s.enabled && (
          <span className="badge badge-warn" title="Its schedules are paused and its runs refused until a deployer enables it">
            disabled
          </span>
        )}
        {s.description && <div className="muted small">{s.description}</div>}
        <div className="muted small">overlap: {overlapLabel(s.overlap)}</div>
      </td>
      <td>
        <ul className="trigger-list">
          {s.triggers.map((t, i) => (
            <li key={i} data-trigger={t.type}>
              {describeTrigger(t)}
            </li>
          ))}
        </ul>
      </td>
      <td>
        <ol className="step-list" aria-label={`Steps of ${s.name}`}>
          {s.steps.map((st) => (
            <li key={st.index}>{describeStep(st)}</li>
          ))}
        </ol>
      </td>
      <td className="nowrap">
        {s.lastRun ? (
          <>
            <Link href={scenarioRunHref(projectId, s.lastRun.runId)} aria-label={`Last run of ${s.name}: ${s.lastRun.status}`}>
              <BuildStatusBadge status={s.lastRun.status} />
            </Link>
            <div className="muted small">{formatDateTime(s.lastRun.startedAt ?? s.lastRun.createdAt)}</div>
          </>
        ) : (
          <span className="muted">never</span>
        )}
      </td>
      <td className="nowrap" data-next-run>
        {next ? formatInZone(next.at, next.timezone) : <span className="muted">{s.enabled ? '—' : 'paused'}</span>}
      </td>
      <td className="scenario-actions">
        {canRun && (
          <button type="button" className="btn btn-sm btn-primary" onClick={runNow} disabled={run.isPending || !s.enabled} aria-label={`Run ${s.name} now`}>
            {run.isPending ? 'Starting…' : 'Run now'}
          </button>
        )}
        {canRun && <EnableToggle projectId={projectId} scenario={s} />}
        {skipped && (
          <p className="row-error" role="alert">
            Not started: {skipped}
          </p>
        )}
        <ErrorMessage error={run.error} />
      </td>
    </tr>
  );
}
