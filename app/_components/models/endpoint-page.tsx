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
import { Card, ErrorMessage, Loading } from '../ui';
import { EndpointDriftCard } from './endpoint-drift';
import { EndpointOpenApi } from './endpoint-openapi';
import { EndpointTraffic } from './endpoint-traffic';
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
          <ErrorMessage error={endpoint.error} />
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

/** The shadow version's agreement with the served one over the last 24 hours of logged pairs. */
function ShadowSummary({ projectId, endpoint }: { projectId: string; endpoint: Endpoint }) {
  const trpc = useTRPC();
  const comparison = useQuery(trpc.endpoints.shadowComparison.queryOptions({ projectId, name: endpoint.name, window: { last: '24h' } }));
  const c = comparison.data;
  return (
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
    </dl>
  );
}
