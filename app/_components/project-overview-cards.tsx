'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { bundleHref, productionHref, shortHash } from './bundles/production-page';
import { formatDateTime } from './format';
import { formatCount } from './models/format';
import { endpointHref, endpointsHref, type Endpoint } from './models/types';
import { ScenarioRunsTable } from './scenarios/scenario-runs-table';
import { useTRPC } from './trpc';
import { Card, EmptyState, ErrorMessage, Loading } from './ui';

/** What production runs now: the active bundle and its last deploy (or rollback), read from the deployment history. */
export function ProductionSummaryCard({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const deployments = useQuery(trpc.deployments.list.queryOptions({ projectId, limit: 20 }));
  const active = deployments.data?.find((d) => d.active) ?? null;
  return (
    <Card
      title="Production"
      description="The bundle production runs, and its last deploy."
      id="section-production"
      actions={
        <Link href={productionHref(projectId)} className="btn btn-sm">
          Production
        </Link>
      }
    >
      {deployments.isPending ? (
        <Loading />
      ) : deployments.isError ? (
        <ErrorMessage error={deployments.error} />
      ) : !active ? (
        <EmptyState title="Nothing deployed yet.">Promote a notebook version to a bundle, then deploy it from the Production page.</EmptyState>
      ) : (
        <dl className="facts" data-testid="active-bundle">
          <div>
            <dt>Active bundle</dt>
            <dd>
              <Link href={bundleHref(projectId, active.bundleHash)} className="mono strong-link">
                {shortHash(active.bundleHash)}
              </Link>
            </dd>
          </div>
          <div>
            <dt>Last {active.kind === 'rollback' ? 'rollback' : 'deploy'}</dt>
            <dd>
              {formatDateTime(active.activatedAt)} <span className="muted">by {active.activatedBy}</span>
            </dd>
          </div>
          {active.reason && (
            <div>
              <dt>Reason</dt>
              <dd>{active.reason}</dd>
            </div>
          )}
          {active.releaseNotes && (
            <div>
              <dt>Release notes</dt>
              <dd>{active.releaseNotes}</dd>
            </div>
          )}
          <div>
            <dt>Deployments</dt>
            <dd className="tabular">{deployments.data.length}</dd>
          </div>
        </dl>
      )}
    </Card>
  );
}

/** The latest production scenario runs, with a way to all of them. */
export function LatestScenarioRunsCard({ projectId }: { projectId: string }) {
  return (
    <Card
      title="Scenario runs"
      description="What production ran lately, on a schedule, a data change or by hand."
      id="section-scenario-runs"
      actions={
        <Link href={`${productionHref(projectId)}#scenarios`} className="btn btn-sm">
          All scenarios
        </Link>
      }
    >
      <ScenarioRunsTable projectId={projectId} limit={5} />
    </Card>
  );
}

/** The project's endpoints with what they serve and their traffic over the last 24 hours. */
export function EndpointsTrafficCard({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const endpoints = useQuery(trpc.endpoints.list.queryOptions({ projectId }));
  return (
    <Card
      title="Endpoints"
      description="Real-time scoring APIs and their traffic in the last 24 hours."
      id="section-endpoints"
      actions={
        <Link href={endpointsHref(projectId)} className="btn btn-sm">
          All endpoints
        </Link>
      }
    >
      {endpoints.isPending ? (
        <Loading />
      ) : endpoints.isError ? (
        <ErrorMessage error={endpoints.error} />
      ) : endpoints.data.length === 0 ? (
        <EmptyState title="No endpoints yet.">Deployers create one on the Endpoints page to score records over HTTP.</EmptyState>
      ) : (
        <div className="table-scroll">
          <table className="table" aria-label="Endpoints and their traffic">
            <thead>
              <tr>
                <th>Endpoint</th>
                <th>Serves</th>
                <th className="align-right">Requests (24 h)</th>
                <th className="align-right">Records</th>
                <th className="align-right">Errors</th>
                <th className="align-right">p95</th>
              </tr>
            </thead>
            <tbody>
              {endpoints.data.map((e) => (
                <EndpointTrafficRow key={e.id} projectId={projectId} endpoint={e} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

function EndpointTrafficRow({ projectId, endpoint }: { projectId: string; endpoint: Endpoint }) {
  const trpc = useTRPC();
  const stats = useQuery(trpc.endpoints.stats.queryOptions({ projectId, name: endpoint.name, range: '24h' }));
  const t = stats.data?.total;
  const cell = (v: string) => <td className="align-right tabular nowrap">{stats.isPending ? '…' : stats.isError ? '—' : v}</td>;
  return (
    <tr data-endpoint={endpoint.name}>
      <td className="nowrap">
        <Link href={endpointHref(projectId, endpoint.name)} className="strong-link">
          <code>{endpoint.name}</code>
        </Link>
      </td>
      <td className="muted nowrap">
        {endpoint.model}
        {endpoint.servingVersion !== null ? ` v${endpoint.servingVersion}` : ' (nothing to serve)'}
      </td>
      {cell(formatCount(t?.requests ?? 0))}
      {cell(formatCount(t?.records ?? 0))}
      {cell(formatCount((t?.clientErrors ?? 0) + (t?.serverErrors ?? 0)))}
      {cell(t?.p95 != null ? `${t.p95.toFixed(1)} ms` : '—')}
    </tr>
  );
}
