'use client';

import './models.css';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import { ConfirmButton } from '../confirm-button';
import { ProjectSubpage } from '../datasets/project-subpage';
import { useTRPC } from '../trpc';
import { roleAtLeast } from '../types';
import { QueryError } from '../query-state';
import { Card, ErrorMessage, Loading } from '../ui';
import { EndpointDriftCard } from './endpoint-drift';
import { EndpointOpenApi } from './endpoint-openapi';
import { EndpointThreshold } from './endpoint-threshold';
import { EndpointTraffic } from './endpoint-traffic';
import { formatCount, formatMetric } from './format';
import { servingLabel } from './endpoints-page';
import { TryIt } from './try-it';
import { useSampleRecords } from './use-sample-records';
import { endpointsHref, modelHref, type Endpoint, type ModelVersionDetail } from './types';

/** One endpoint: try it, how to call it, and (deployers) what it serves. */
export function EndpointPage({ projectId, name }: { projectId: string; name: string }) {
  const trpc = useTRPC();
  const endpoint = useQuery(trpc.endpoints.get.queryOptions({ projectId, name }));
  const e = endpoint.data;
  const detail = useQuery({
    ...trpc.models.versionDetail.queryOptions({ projectId, name: e?.model ?? 'none', version: e?.servingVersion ?? 1 }),
    enabled: Boolean(e?.servingVersion),
  });
  const sample = useSampleRecords(projectId, detail.data);
  return (
    <ProjectSubpage
      projectId={projectId}
      section="Models"
      title={name}
      badge={e && <span className={`badge ${e.pinnedVersion !== null ? 'badge-pinned' : 'badge-champion'}`}>{servingLabel(e)}</span>}
      description={e?.description || undefined}
      actions={() => (
        <Link href={endpointsHref(projectId)} className="btn">
          All endpoints
        </Link>
      )}
    >
      {({ myRole }) =>
        endpoint.isPending ? (
          <Loading />
        ) : endpoint.isError ? (
          <QueryError error={endpoint.error} what={`Endpoint "${name}"`} back={{ href: endpointsHref(projectId), label: 'All endpoints' }} />
        ) : (
          <div className="stack">
            <EndpointTraffic projectId={projectId} name={name} />
            <EndpointDriftCard projectId={projectId} name={name} canDeploy={roleAtLeast(myRole, 'deployer')} />
            <Card title="Try it" description="Score records as a client would; each answer names the model version that scored it." id="try-it">
              <TryIt endpoint={endpoint.data} sample={sample} />
            </Card>
            <div className="grid-2-1">
              <CallIt endpoint={endpoint.data} projectId={projectId} example={sample?.[0] ?? null} detail={detail.data} />
              <Settings projectId={projectId} endpoint={endpoint.data} canDeploy={roleAtLeast(myRole, 'deployer')} />
            </div>
          </div>
        )
      }
    </ProjectSubpage>
  );
}

function CallIt({ endpoint, projectId, example, detail }: { endpoint: Endpoint; projectId: string; example: Record<string, unknown> | null; detail: ModelVersionDetail | undefined }) {
  const [origin, setOrigin] = useState('http://localhost:3000');
  useEffect(() => setOrigin(window.location.origin), []);
  const curl = [
    `curl -X POST ${origin}${endpoint.path} \\`,
    `  -H "authorization: Bearer $STAGEBOOK_KEY" \\`,
    `  -H "content-type: application/json" \\`,
    `  -d '${JSON.stringify({ records: [example ?? { feature: 'value' }] }).replace(/'/g, "'\\''")}'`,
  ].join('\n');
  return (
    <Card title="Call it" description="Over REST: the hot path, with no database round trip per request." id="call-it">
      <div className="stack">
        <pre className="code-block code-wrap" data-testid="curl-example">
          {curl}
        </pre>
        <dl className="kv">
          <dt>Key scope</dt>
          <dd>
            <code>{endpoint.scope}</code> (create a key under <Link href={`/projects/${projectId}/api-keys`}>API keys</Link>)
          </dd>
          <dt>Answer</dt>
          <dd>
            per record <code>label</code>, <code>probabilities</code> by class and <code>modelVersion</code>; 400 names the record and field of a bad input; 413 above 10,000 records or 1 MiB
          </dd>
          <dt>OpenAPI</dt>
          <dd>
            <a href="/api/openapi.json">/api/openapi.json</a> (operation <code>predict</code>); this endpoint&apos;s records, typed by the version it serves:
            <EndpointOpenApi endpoint={endpoint} detail={detail} />
          </dd>
          <dt>tRPC</dt>
          <dd>
            <code>scoring.predict({'{'} endpoint: &quot;{endpoint.name}&quot;, records {'}'})</code>
          </dd>
        </dl>
      </div>
    </Card>
  );
}

function Settings({ projectId, endpoint, canDeploy }: { projectId: string; endpoint: Endpoint; canDeploy: boolean }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const versions = useQuery(trpc.models.versions.queryOptions({ projectId, name: endpoint.model }));
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.endpoints.get.queryKey({ projectId, name: endpoint.name }) }),
      queryClient.invalidateQueries({ queryKey: trpc.endpoints.list.queryKey({ projectId }) }),
      queryClient.invalidateQueries({ queryKey: trpc.endpoints.shadowComparison.queryKey({ projectId, name: endpoint.name }) }),
    ]);
  const update = useMutation(trpc.endpoints.update.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(
    trpc.endpoints.delete.mutationOptions({
      onSuccess: async () => {
        await queryClient.invalidateQueries({ queryKey: trpc.endpoints.list.queryKey({ projectId }) });
        router.push(endpointsHref(projectId));
      },
    }),
  );
  return (
    <Card title="Serving" id="serving">
      <div className="form">
        <dl className="kv">
          <dt>Model</dt>
          <dd>
            <Link href={modelHref(projectId, endpoint.model)}>
              <code>{endpoint.model}</code>
            </Link>
          </dd>
          <dt>Version</dt>
          <dd>{servingLabel(endpoint)}</dd>
        </dl>
        <EndpointThreshold
          key={String(endpoint.threshold)}
          endpoint={endpoint}
          editable={canDeploy && !endpoint.bundleHash}
          pending={update.isPending}
          onSave={(threshold) => update.mutate({ projectId, name: endpoint.name, threshold })}
        />
        {endpoint.shadowVersion !== null && <ShadowSummary projectId={projectId} endpoint={endpoint} />}
        {endpoint.bundleHash && (
          <p className="hint" data-testid="deployed-endpoint">
            Deployed by bundle <code>{endpoint.bundleHash.slice(0, 12)}</code>: what it serves changes by deploying another bundle, rolling back, or a retrain gate. Its shadow version can change here.
          </p>
        )}
        {canDeploy && (
          <>
            {!endpoint.bundleHash && (
              <label className="field">
                <span>Serve</span>
                <select
                  name="servingVersion"
                  value={endpoint.pinnedVersion ?? ''}
                  disabled={update.isPending}
                  onChange={(e) => update.mutate({ projectId, name: endpoint.name, version: e.target.value ? Number(e.target.value) : null })}
                >
                  <option value="">The champion (follows changes)</option>
                  {versions.data?.map((v) => (
                    <option key={v.id} value={v.version}>
                      Pinned: v{v.version}
                      {v.champion ? ' (champion now)' : ''}
                    </option>
                  ))}
                </select>
                <span className="hint">A switch is atomic: each request is scored wholly by one version.</span>
              </label>
            )}
            <label className="field">
              <span>Shadow-score version</span>
              <select
                name="shadowVersion"
                value={endpoint.shadowVersion ?? ''}
                disabled={update.isPending}
                onChange={(e) => update.mutate({ projectId, name: endpoint.name, shadowVersion: e.target.value ? Number(e.target.value) : null })}
              >
                <option value="">None</option>
                {versions.data
                  ?.filter((v) => v.version !== endpoint.servingVersion)
                  .map((v) => (
                    <option key={v.id} value={v.version}>
                      v{v.version}
                    </option>
                  ))}
              </select>
              <span className="hint">Scores each request again with a challenger after answering: its scores are logged, never returned.</span>
            </label>
            <ErrorMessage error={update.error ?? remove.error} />
            {!endpoint.bundleHash && (
              <ConfirmButton
                label="Delete endpoint"
                confirmLabel="Delete"
                question={`Delete ${endpoint.name}? Clients get 404 from the next request.`}
                pending={remove.isPending}
                onConfirm={() => remove.mutate({ projectId, name: endpoint.name })}
              />
            )}
          </>
        )}
      </div>
    </Card>
  );
}

/** Where the true outcomes are, as shadowComparison takes them. */
type ShadowLabels = { dataset: string; key: string; label: string; environment: 'design' | 'production' };

/**
 * The shadow version's agreement with the served one over the last 24 hours of logged pairs; with
 * labels applied ("Judge on labels"), both versions' AUC on the logged records the labels dataset has.
 */
function ShadowSummary({ projectId, endpoint }: { projectId: string; endpoint: Endpoint }) {
  const trpc = useTRPC();
  const comparison = useQuery(trpc.endpoints.shadowComparison.queryOptions({ projectId, name: endpoint.name, window: { last: '24h' } }));
  const [applied, setApplied] = useState<ShadowLabels | null>(null);
  const judged = useQuery({
    ...trpc.endpoints.shadowComparison.queryOptions({ projectId, name: endpoint.name, window: { last: '24h' }, labels: applied ?? { dataset: 'none', key: 'id', label: 'none', environment: 'production' } }),
    enabled: applied !== null,
  });
  const c = comparison.data;
  const l = judged.data?.labelled;
  return (
    <div className="shadow-summary">
      <dl className="kv" data-testid="shadow-summary">
        <dt>Shadow</dt>
        <dd>
          v{endpoint.shadowVersion}
          {c && c.rows > 0 && c.agreement !== null
            ? `: ${c.rows.toLocaleString()} rows in 24 h, ${(c.agreement * 100).toFixed(1)}% agreement, mean |Δp| ${c.meanAbsDiff === null ? 'n/a' : c.meanAbsDiff.toFixed(3)}`
            : c
              ? ': no scored pairs in the last 24 h yet'
              : ''}
        </dd>
        {applied && (
          <>
            <dt>Live AUC</dt>
            <dd data-testid="shadow-labels-result" aria-busy={judged.isFetching}>
              {judged.isError ? (
                <ErrorMessage error={judged.error} />
              ) : !l ? (
                'Computing…'
              ) : l.servedAuc === null || l.shadowAuc === null ? (
                `${formatCount(l.rows)} labelled records: too few (or one class) for an AUC`
              ) : (
                <>
                  shadow <strong className="tabular">{formatMetric(l.shadowAuc)}</strong> vs served <strong className="tabular">{formatMetric(l.servedAuc)}</strong> on {formatCount(l.rows)} labelled records
                </>
              )}
              <span className="hint">
                {' '}
                ({applied.label} of <code>{applied.dataset}</code> by {applied.key}, {applied.environment})
              </span>
            </dd>
          </>
        )}
      </dl>
      <ShadowLabelsForm projectId={projectId} onApply={(labels) => (applied && JSON.stringify(labels) === JSON.stringify(applied) ? void judged.refetch() : setApplied(labels))} />
    </div>
  );
}

/** Picks the labels dataset and its key and label columns; Apply again recomputes with the latest logged pairs. */
function ShadowLabelsForm({ projectId, onApply }: { projectId: string; onApply: (labels: ShadowLabels) => void }) {
  const trpc = useTRPC();
  const [environment, setEnvironment] = useState<ShadowLabels['environment']>('production');
  const [draft, setDraft] = useState({ dataset: '', key: '', label: '' });
  // Listed once the control is opened, not for every visit of the page.
  const [open, setOpen] = useState(false);
  const datasets = useQuery({ ...trpc.datasets.list.queryOptions({ projectId, environment }), enabled: open });
  // A pick no longer offered (another environment, another dataset) falls back to a default.
  const list = datasets.data ?? [];
  const dataset = list.find((d) => d.name === draft.dataset) ?? list[0];
  const columns = dataset?.columns.map((col) => col.name) ?? [];
  const key = columns.includes(draft.key) ? draft.key : columns.includes('id') ? 'id' : (columns[0] ?? '');
  const label = columns.includes(draft.label) ? draft.label : (columns.find((col) => col !== key) ?? '');
  return (
    <details className="shadow-labels" data-testid="shadow-labels-form" onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>Judge on labels</summary>
      <form
        className="shadow-labels-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (dataset && key && label) onApply({ dataset: dataset.name, key, label, environment });
        }}
      >
        <p className="hint">The served and the shadow version&apos;s AUC on the logged records (last 24 h) whose key matches a row of a dataset of true outcomes.</p>
        <div className="shadow-labels-fields">
          <label className="field field-inline">
            <span>Environment</span>
            <select name="labelsEnvironment" className="select-sm" value={environment} onChange={(e) => setEnvironment(e.target.value as ShadowLabels['environment'])}>
              <option value="production">production</option>
              <option value="design">design</option>
            </select>
          </label>
          <label className="field field-inline">
            <span>Dataset</span>
            <select name="labelsDataset" className="select-sm" value={dataset?.name ?? ''} disabled={list.length === 0} onChange={(e) => setDraft({ ...draft, dataset: e.target.value })}>
              {list.length === 0 && <option value="">{datasets.isPending ? 'Loading…' : 'No datasets'}</option>}
              {list.map((d) => (
                <option key={d.id} value={d.name}>
                  {d.name}
                </option>
              ))}
            </select>
          </label>
          <ColumnSelect label="Key column" name="labelsKey" value={key} columns={columns} onChange={(v) => setDraft({ ...draft, dataset: dataset?.name ?? '', key: v })} />
          <ColumnSelect label="Label column" name="labelsLabel" value={label} columns={columns} onChange={(v) => setDraft({ ...draft, dataset: dataset?.name ?? '', label: v })} />
        </div>
        <ErrorMessage error={datasets.error} />
        <button type="submit" className="btn btn-sm" disabled={!dataset || !key || !label}>
          Apply
        </button>
      </form>
    </details>
  );
}

function ColumnSelect({ label, name, value, columns, onChange }: { label: string; name: string; value: string; columns: string[]; onChange: (column: string) => void }) {
  return (
    <label className="field field-inline">
      <span>{label}</span>
      <select name={name} className="select-sm" value={value} disabled={columns.length === 0} onChange={(e) => onChange(e.target.value)}>
        {columns.map((col) => (
          <option key={col} value={col}>
            {col}
          </option>
        ))}
      </select>
    </label>
  );
}
