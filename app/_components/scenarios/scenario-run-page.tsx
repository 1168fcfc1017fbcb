'use client';

import '../datasets/datasets.css';
import '../builds/builds.css';
import './scenarios.css';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { Fragment } from 'react';
import { StepDetailRows, useOpenRows } from '../step-rows';
import { formatSpan } from '../builds/run-timeline';
import { BuildStatusBadge } from '../builds/status-badge';
import { ProjectSubpage } from '../datasets/project-subpage';
import { formatDateTimeSeconds, shortId } from '../format';
import { NotAvailable } from '../team-header';
import { useTRPC } from '../trpc';
import { roleAtLeast } from '../types';
import { ErrorMessage, Loading } from '../ui';
import { ScenarioTimeline, stepTitle, useNow } from './scenario-timeline';
import { describeRunTrigger, isRunLive, runDurationMs, scenarioRunHref, triggerRunLink, type ScenarioRun, type ScenarioRunStep } from './scenario-types';
import { StepOutput } from './step-output';
import { useScenarioActions, useScenarioRun, useScenarios } from './use-scenarios';

const bundleHref = (projectId: string, hash: string) => `/projects/${projectId}/bundles/${hash}`;
const productionHref = (projectId: string) => `/projects/${projectId}/production`;
const notificationsHref = (projectId: string) => `/projects/${projectId}/notifications`;

/** `/projects/<id>/runs/<runId>`: a scenario run's trigger, steps, timeline, outputs and logs; live while it runs. */
export function ScenarioRunPage({ projectId, runId }: { projectId: string; runId: string }) {
  const run = useScenarioRun(projectId, runId);
  useReportsAfterFinish(projectId, runId);
  if (run.isError) return <NotAvailable error={run.error} />;
  if (run.isPending) return <Loading />;
  const r = run.data;
  return (
    <ProjectSubpage
      projectId={projectId}
      section="Production"
      sectionHref={`${productionHref(projectId)}#scenarios`}
      title={r.scenario}
      badge={<BuildStatusBadge status={r.status} />}
      description={`Scenario run ${shortId(r.runId)}`}
      actions={({ myRole }) => roleAtLeast(myRole, 'deployer') && <RunActions projectId={projectId} run={r} />}
    >
      {() => <RunBody projectId={projectId} run={r} />}
    </ProjectSubpage>
  );
}

/** Reporters send once the run has finished: a page that followed the run to its end keeps looking for a while. */
const REPORTS_GRACE_MS = 60_000;
const REPORTS_POLL_MS = 2_000;

function useReportsAfterFinish(projectId: string, runId: string) {
  const trpc = useTRPC();
  useQuery(
    trpc.scenarios.getRun.queryOptions(
      { projectId, runId },
      {
        refetchInterval: (q) => {
          const r = q.state.data;
          if (!r?.finishedAt || (r.status !== 'succeeded' && r.status !== 'failed')) return false;
          return Date.now() - new Date(r.finishedAt).getTime() < REPORTS_GRACE_MS ? REPORTS_POLL_MS : false;
        },
        staleTime: 0,
        retry: false,
      },
    ),
  );
}

function RunActions({ projectId, run }: { projectId: string; run: ScenarioRun }) {
  const router = useRouter();
  const { cancel, rerun } = useScenarioActions(projectId);
  const live = isRunLive(run.status);
  const error = cancel.error ?? rerun.error;
  return (
    <span className="run-actions">
      {error && <span className="row-error">{error.message}</span>}
      {live && (
        <button type="button" className="btn btn-danger-ghost" disabled={cancel.isPending} onClick={() => cancel.mutate({ projectId, runId: run.runId })}>
          {cancel.isPending ? 'Cancelling…' : 'Cancel run'}
        </button>
      )}
      <button
        type="button"
        className="btn"
        disabled={rerun.isPending}
        onClick={() => rerun.mutate({ projectId, runId: run.runId }, { onSuccess: (r) => router.push(scenarioRunHref(projectId, r.runId)) })}
      >
        {rerun.isPending ? 'Starting…' : 'Re-run'}
      </button>
    </span>
  );
}

function RunBody({ projectId, run }: { projectId: string; run: ScenarioRun }) {
  const live = isRunLive(run.status);
  const now = useNow(live, 250);
  const trigger = describeRunTrigger(run.trigger);
  const link = triggerRunLink(run.trigger);
  const duration = runDurationMs(run, now);
  const counts = { succeeded: 0, failed: 0, skipped: 0, cancelled: 0, running: 0, pending: 0 };
  for (const s of run.steps) counts[s.status]++;
  const done = counts.succeeded + counts.failed + counts.skipped + counts.cancelled;
  // `when` is in the spec the run stored; the deployed scenario tells it when it is still the same bundle.
  const scenarios = useScenarios(projectId);
  const deployed = scenarios.data?.find((s) => s.name === run.scenario && s.bundleHash === run.bundleHash);

  return (
    <div className="stack">
      <section className="card run-summary" aria-label="Summary">
        <dl className="facts">
          <div>
            <dt>Trigger</dt>
            <dd data-trigger={run.trigger.kind}>
              <strong>{trigger.kind}</strong> {trigger.detail}
              {link && (
                <div className="muted small">
                  {link.label} <Link href={scenarioRunHref(projectId, link.runId)}>{shortId(link.runId)}</Link>
                </div>
              )}
            </dd>
          </div>
          <div>
            <dt>Bundle</dt>
            <dd>
              {run.bundleHash ? (
                <Link className="mono" href={bundleHref(projectId, run.bundleHash)} title={run.bundleHash}>
                  {run.bundleHash.slice(0, 12)}
                </Link>
              ) : (
                <span className="muted">—</span>
              )}
            </dd>
          </div>
          <div>
            <dt>Started</dt>
            <dd>{run.startedAt ? formatDateTimeSeconds(run.startedAt) : run.status === 'queued' ? 'waiting for the running one' : '—'}</dd>
          </div>
          <div>
            <dt>Finished</dt>
            <dd>{formatDateTimeSeconds(run.finishedAt, live ? 'running…' : '—')}</dd>
          </div>
          <div>
            <dt>Duration</dt>
            <dd className="tabular">{duration !== null ? formatSpan(duration) : '—'}</dd>
          </div>
        </dl>
        {run.steps.length > 0 && (
          <>
            <div className="run-progress" role="progressbar" aria-label="Steps finished" aria-valuemin={0} aria-valuemax={run.steps.length} aria-valuenow={done}>
              {(['succeeded', 'failed', 'skipped', 'cancelled', 'running', 'pending'] as const).map((s) =>
                counts[s] ? <span key={s} className={`run-progress-part run-progress-${s}`} style={{ flexGrow: counts[s] }} /> : null,
              )}
            </div>
            <p className="muted small" aria-live="polite">
              {done} of {run.steps.length} steps finished
              {counts.running ? `, ${counts.running} running` : ''}
              {counts.failed ? `, ${counts.failed} failed` : ''}
            </p>
          </>
        )}
        {run.error && <ErrorMessage error={{ message: run.error }} />}
      </section>

      {run.steps.length > 0 && (
        <section className="card" aria-labelledby="run-timeline">
          <div className="card-head">
            <h2 id="run-timeline">Timeline</h2>
          </div>
          <ScenarioTimeline run={run} />
        </section>
      )}

      <section className="card" aria-labelledby="run-steps">
        <div className="card-head">
          <div>
            <h2 id="run-steps">Steps</h2>
            <p className="card-description">
              In order. A step runs when every earlier step succeeded unless its <code>when</code> says <code>always</code> or <code>failure</code>; one that does not run is skipped.
            </p>
          </div>
        </div>
        {run.steps.length === 0 ? (
          <p className="muted">{run.status === 'skipped' ? 'This run was never started.' : 'The steps appear once the run begins.'}</p>
        ) : (
          <StepsTable projectId={projectId} steps={run.steps} now={now} whenOf={(i) => deployed?.steps[i]?.when ?? null} />
        )}
      </section>

      {run.reports.length > 0 && <ReportersCard projectId={projectId} reports={run.reports} />}
    </div>
  );
}

type RunReport = ScenarioRun['reports'][number];

/** What each reporter did: one row per delivery. A refused one never reached the channel (no such channel). */
function ReportersCard({ projectId, reports }: { projectId: string; reports: RunReport[] }) {
  return (
    <section className="card" aria-labelledby="run-reporters">
      <div className="card-head">
        <div>
          <h2 id="run-reporters">Reporters</h2>
          <p className="card-description">
            What the scenario’s reporters sent when the run finished or a gate decided. Retries and answers are on the{' '}
            <Link href={notificationsHref(projectId)}>Notifications</Link> tab.
          </p>
        </div>
      </div>
      <div className="table-scroll">
        <table className="table table-compact reports-table">
          <thead>
            <tr>
              <th>Channel</th>
              <th>Event</th>
              <th>Status</th>
              <th>Delivery</th>
            </tr>
          </thead>
          <tbody>
            {reports.map((r, i) => (
              <tr key={r.deliveryId ?? i} data-channel={r.channel} data-event={r.event} data-status={r.status}>
                <td>
                  <strong className="mono">{r.channel}</strong>
                </td>
                <td>
                  <code>{r.event}</code>
                </td>
                <td className="nowrap">
                  <span className={`badge notif-status notif-status-${r.status}`}>{r.status}</span>
                </td>
                <td>
                  {r.deliveryId ? (
                    <Link href={`${notificationsHref(projectId)}#deliveries`} className="mono" title={r.deliveryId}>
                      {shortId(r.deliveryId)}
                    </Link>
                  ) : (
                    <span className="muted">—</span>
                  )}
                  {r.status !== 'delivered' && <div className="muted small">{r.line}</div>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** "build credit_clean" under a "build" chip reads as "credit_clean"; a step's own `name:` stays whole. */
const nameBesideType = (s: ScenarioRunStep) => (s.name.startsWith(`${s.type} `) ? s.name.slice(s.type.length + 1) : s.name);

/** Between polls a running step's duration follows the clock, as its bar does. */
const stepDuration = (s: ScenarioRunStep, now: number) => (s.status === 'running' && s.startedAt ? Math.max(s.durationMs ?? 0, now - new Date(s.startedAt).getTime()) : s.durationMs);

function StepsTable({ projectId, steps, now, whenOf }: { projectId: string; steps: ScenarioRunStep[]; now: number; whenOf: (index: number) => string | null }) {
  const { isOpen, toggle } = useOpenRows<number>();
  return (
    <div className="table-scroll">
      <table className="table steps-table scenario-steps">
        <thead>
          <tr>
            <th className="align-right">#</th>
            <th>Step</th>
            <th>When</th>
            <th>Status</th>
            <th className="align-right">Attempt</th>
            <th className="align-right">Duration</th>
            <th>Output</th>
            <th className="align-right">Log</th>
          </tr>
        </thead>
        <tbody>
          {steps.map((s) => {
            const expanded = isOpen(s.index);
            return (
              <Fragment key={s.index}>
                <tr data-step={s.index} data-type={s.type} data-status={s.status}>
                  <td className="align-right tabular muted">{s.index + 1}</td>
                  <td>
                    <span className="step-type">{s.type}</span> <span className="strong">{nameBesideType(s)}</span>
                  </td>
                  <td className="muted">{whenOf(s.index) ?? '—'}</td>
                  <td className="nowrap">
                    <BuildStatusBadge status={s.status} />
                  </td>
                  <td className="align-right tabular">{s.attempt || '—'}</td>
                  <td className="align-right nowrap tabular">{stepDuration(s, now) !== null ? formatSpan(stepDuration(s, now)!) : '—'}</td>
                  <td className="step-output-cell">
                    <StepOutput projectId={projectId} step={s} />
                  </td>
                  <td className="align-right">
                    <button type="button" className="btn btn-sm btn-ghost" aria-expanded={expanded} aria-controls={`log-${s.index}`} onClick={() => toggle(s.index)}>
                      {expanded ? 'Hide log' : `Log (${s.log.length})`}
                    </button>
                  </td>
                </tr>
                <StepDetailRows error={s.error} log={s.log} expanded={expanded} logId={`log-${s.index}`} label={stepTitle(s)} columns={8} />
              </Fragment>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
