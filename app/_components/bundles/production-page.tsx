'use client';

import '../datasets/datasets.css';
import './bundles.css';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRef, useState, type FormEvent } from 'react';
import { formatBytes } from '../datasets/format';
import { ProductionDatasetsCard } from '../datasets/production-datasets-card';
import { formatDateTime } from '../format';
import { endpointHref, modelHref } from '../models/types';
import { ProjectFrame } from '../project-header';
import { ScenariosCard } from '../scenarios/scenarios-card';
import { useTRPC } from '../trpc';
import { roleAtLeast, type RouterOutputs } from '../types';
import { Card, EmptyState, ErrorMessage, Loading } from '../ui';

type Bundle = RouterOutputs['bundles']['list'][number];
type Deployment = RouterOutputs['deployments']['list'][number];

export const shortHash = (hash: string) => hash.slice(0, 12);
export const bundleHref = (projectId: string, hash: string) => `/projects/${projectId}/bundles/${hash}`;
export const productionHref = (projectId: string) => `/projects/${projectId}/production`;
const exportHref = (projectId: string, hash: string) => `/api/v1/projects/${projectId}/bundles/${hash}/export`;

/**
 * Production: the bundle active now and what it serves, the scenarios it runs, its datasets, every bundle promoted or imported (deploy,
 * export), the deployment history with rollback, and importing a bundle file from another instance.
 */
export function ProductionPage({ projectId }: { projectId: string }) {
  return (
    <ProjectFrame projectId={projectId} active={productionHref(projectId)}>
      {(_project, myRole) => {
        const canDeploy = roleAtLeast(myRole, 'deployer');
        const canPromote = roleAtLeast(myRole, 'editor');
        return (
          <div className="production">
            <p className="page-description">
              Bundles are immutable snapshots promoted from a notebook. Deploying one makes production serve exactly its models and endpoints; rolling back re-activates an earlier bundle at once.
            </p>
            <ActiveBundle projectId={projectId} canDeploy={canDeploy} />
            <ScenariosCard projectId={projectId} canRun={canDeploy} />
            <ProductionDatasetsCard projectId={projectId} canUpload={canPromote} />
            <BundlesTable projectId={projectId} canDeploy={canDeploy} canExport={canPromote} />
            <div className="grid-2-1">
              <DeploymentHistory projectId={projectId} canDeploy={canDeploy} />
              {canPromote ? <ImportBundle projectId={projectId} /> : <Card title="Import a bundle"><p className="muted">Editors import bundles exported from another Stagebook.</p></Card>}
            </div>
          </div>
        );
      }}
    </ProjectFrame>
  );
}

function useInvalidateProduction(projectId: string) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  return () =>
    Promise.all([
      qc.invalidateQueries({ queryKey: trpc.bundles.list.queryKey({ projectId }) }),
      qc.invalidateQueries({ queryKey: trpc.deployments.list.queryKey({ projectId }) }),
      qc.invalidateQueries({ queryKey: trpc.endpoints.list.queryKey({ projectId }) }),
    ]);
}

function ActiveBundle({ projectId, canDeploy }: { projectId: string; canDeploy: boolean }) {
  const trpc = useTRPC();
  const deployments = useQuery({ ...trpc.deployments.list.queryOptions({ projectId }), refetchInterval: 10_000 });
  const bundles = useQuery(trpc.bundles.list.queryOptions({ projectId }));
  const endpoints = useQuery({ ...trpc.endpoints.list.queryOptions({ projectId }), refetchInterval: 10_000 });
  if (deployments.isPending || bundles.isPending) return <Card title="Active in production"><Loading /></Card>;
  if (deployments.isError) return <Card title="Active in production"><ErrorMessage error={deployments.error} /></Card>;
  const active = deployments.data.find((d) => d.active);
  if (!active) {
    return (
      <Card title="Active in production" id="active-bundle">
        <EmptyState title="Nothing is deployed yet.">Promote a notebook (the Promote button in its toolbar), then deploy the bundle below.</EmptyState>
      </Card>
    );
  }
  const bundle = bundles.data?.find((b) => b.hash === active.bundleHash);
  const previous = deployments.data.find((d) => !d.active && d.bundleHash !== active.bundleHash);
  return (
    <Card
      title="Active in production"
      id="active-bundle"
      actions={canDeploy && previous ? <RollbackButton projectId={projectId} to={previous} /> : undefined}
    >
      <div className="active-bundle" data-hash={active.bundleHash}>
        <dl className="facts">
          <div>
            <dt>Bundle</dt>
            <dd>
              <Link className="mono" href={bundleHref(projectId, active.bundleHash)}>
                {shortHash(active.bundleHash)}
              </Link>{' '}
              <span className="badge badge-active">active</span>
            </dd>
          </div>
          <div>
            <dt>{active.kind === 'rollback' ? 'Rolled back' : 'Deployed'}</dt>
            <dd>
              {formatDateTime(active.activatedAt)} by {active.activatedBy}
            </dd>
          </div>
          <div>
            <dt>Why</dt>
            <dd>{active.reason}</dd>
          </div>
        </dl>
        {active.releaseNotes && <blockquote className="release-notes">{active.releaseNotes}</blockquote>}
        <h3>Serving</h3>
        {bundle && bundle.endpoints.length > 0 ? (
          <table className="table">
            <thead>
              <tr>
                <th>Endpoint</th>
                <th>Model</th>
                <th>Version</th>
                <th>Status</th>
              </tr>
            </thead>
            <tbody>
              {bundle.endpoints.map((e) => {
                const live = endpoints.data?.find((x) => x.name === e.name);
                const model = bundle.models.find((m) => m.name === e.model);
                const ok = live && live.servingVersion !== null;
                return (
                  <tr key={e.name}>
                    <td>
                      <Link href={endpointHref(projectId, e.name)}>{e.name}</Link>
                    </td>
                    <td>
                      <Link href={modelHref(projectId, e.model)}>{e.model}</Link>
                    </td>
                    <td>{live?.servingVersion != null ? `v${live.servingVersion}` : model ? `v${model.version}` : '—'}</td>
                    <td>
                      <span className={`badge ${ok ? 'badge-ok' : 'badge-warn'}`}>{ok ? 'serving' : endpoints.isPending ? '…' : 'not serving'}</span>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        ) : (
          <p className="muted">This bundle declares no endpoints.</p>
        )}
      </div>
    </Card>
  );
}

function RollbackButton({ projectId, to }: { projectId: string; to: Deployment }) {
  const trpc = useTRPC();
  const invalidate = useInvalidateProduction(projectId);
  const [reason, setReason] = useState('');
  const [open, setOpen] = useState(false);
  const rollback = useMutation(trpc.deployments.rollback.mutationOptions({ onSuccess: () => invalidate().then(() => setOpen(false)) }));
  if (!open) {
    return (
      <button type="button" className="btn btn-danger-ghost" onClick={() => setOpen(true)}>
        Roll back to {shortHash(to.bundleHash)}
      </button>
    );
  }
  return (
    <form
      className="inline-form"
      aria-label="Roll back"
      onSubmit={(e) => {
        e.preventDefault();
        rollback.mutate({ projectId, bundleHash: to.bundleHash, reason });
      }}
    >
      <input aria-label="Reason for the rollback" placeholder="Why roll back?" value={reason} onChange={(e) => setReason(e.target.value)} required />
      <button type="submit" className="btn btn-danger" disabled={rollback.isPending || !reason.trim()}>
        {rollback.isPending ? 'Rolling back…' : 'Roll back now'}
      </button>
      <button type="button" className="btn btn-ghost" onClick={() => setOpen(false)}>
        Cancel
      </button>
      <ErrorMessage error={rollback.error} />
    </form>
  );
}

function BundlesTable({ projectId, canDeploy, canExport }: { projectId: string; canDeploy: boolean; canExport: boolean }) {
  const trpc = useTRPC();
  const bundles = useQuery(trpc.bundles.list.queryOptions({ projectId }));
  const [deploying, setDeploying] = useState<string | null>(null);
  return (
    <Card title="Bundles" id="bundles" description="Newest first. The same content always gives the same hash.">
      {bundles.isPending ? (
        <Loading />
      ) : bundles.isError ? (
        <ErrorMessage error={bundles.error} />
      ) : bundles.data.length === 0 ? (
        <EmptyState title="No bundles yet.">Open a notebook and press Promote to seal its current state as a bundle.</EmptyState>
      ) : (
        <div className="table-scroll">
          <table className="table bundles-table">
            <thead>
              <tr>
                <th>Bundle</th>
                <th>Release notes</th>
                <th>Models</th>
                <th>Size</th>
                <th>Promoted</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {bundles.data.map((b) => (
                <BundleRow key={b.hash} projectId={projectId} bundle={b} canDeploy={canDeploy} canExport={canExport} deploying={deploying === b.hash} setDeploying={setDeploying} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

function BundleRow({ projectId, bundle: b, canDeploy, canExport, deploying, setDeploying }: {
  projectId: string;
  bundle: Bundle;
  canDeploy: boolean;
  canExport: boolean;
  deploying: boolean;
  setDeploying: (hash: string | null) => void;
}) {
  return (
    <>
      <tr data-hash={b.hash} className={b.active ? 'row-active' : undefined}>
        <td>
          <Link className="mono" href={bundleHref(projectId, b.hash)}>
            {shortHash(b.hash)}
          </Link>
          {b.active && <span className="badge badge-active">active</span>}
          {b.origin === 'import' && <span className="badge">imported</span>}
          {b.builtOverFailure && (
            <span className="badge badge-warn" title="Promoted although the last design build had not succeeded">
              over a failed build
            </span>
          )}
        </td>
        <td className="notes-cell">{b.releaseNotes}</td>
        <td>{b.models.map((m) => `${m.name} v${m.version}`).join(', ') || '—'}</td>
        <td>{formatBytes(b.sizeBytes)}</td>
        <td>
          {formatDateTime(b.createdAt)}
          <div className="muted small">{b.createdBy}</div>
        </td>
        <td className="bundle-actions">
          {canExport && (
            <a className="btn btn-sm btn-ghost" href={exportHref(projectId, b.hash)} download>
              Export
            </a>
          )}
          {canDeploy && !b.active && (
            <button type="button" className="btn btn-sm btn-primary" onClick={() => setDeploying(deploying ? null : b.hash)}>
              Deploy
            </button>
          )}
        </td>
      </tr>
      {deploying && (
        <tr className="deploy-row">
          <td colSpan={6}>
            <DeployForm projectId={projectId} bundle={b} onDone={() => setDeploying(null)} />
          </td>
        </tr>
      )}
    </>
  );
}

function DeployForm({ projectId, bundle, onDone }: { projectId: string; bundle: Bundle; onDone: () => void }) {
  const trpc = useTRPC();
  const invalidate = useInvalidateProduction(projectId);
  const [reason, setReason] = useState('');
  const deploy = useMutation(trpc.deployments.deploy.mutationOptions({ onSuccess: () => invalidate().then(onDone) }));
  return (
    <form
      className="inline-form"
      aria-label={`Deploy ${shortHash(bundle.hash)}`}
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        deploy.mutate({ projectId, bundleHash: bundle.hash, reason });
      }}
    >
      <span>
        Deploy <span className="mono">{shortHash(bundle.hash)}</span> to production:
      </span>
      <input aria-label="Reason for the deployment" placeholder="Why deploy it now?" value={reason} onChange={(e) => setReason(e.target.value)} required />
      <button type="submit" className="btn btn-primary" disabled={deploy.isPending || !reason.trim()}>
        {deploy.isPending ? 'Deploying…' : 'Deploy now'}
      </button>
      <button type="button" className="btn btn-ghost" onClick={onDone}>
        Cancel
      </button>
      <ErrorMessage error={deploy.error} />
    </form>
  );
}

function DeploymentHistory({ projectId, canDeploy }: { projectId: string; canDeploy: boolean }) {
  const trpc = useTRPC();
  const deployments = useQuery(trpc.deployments.list.queryOptions({ projectId }));
  const activeHash = deployments.data?.find((d) => d.active)?.bundleHash ?? null;
  return (
    <Card title="Deployment history" id="deployments" description="What production ran, when, who changed it and why.">
      {deployments.isPending ? (
        <Loading />
      ) : deployments.isError ? (
        <ErrorMessage error={deployments.error} />
      ) : deployments.data.length === 0 ? (
        <EmptyState title="No deployments yet." />
      ) : (
        <ol className="vtimeline deploy-timeline">
          {deployments.data.map((d) => (
            // An earlier deployment of the bundle active now has nothing to roll back to.
            <li key={d.id} className={d.active ? 'is-active is-marked' : undefined} data-hash={d.bundleHash}>
              <div className="vtimeline-when">
                {formatDateTime(d.activatedAt)}
                {d.deactivatedAt && <span className="muted small"> – {formatDateTime(d.deactivatedAt)}</span>}
              </div>
              <div className="deploy-what">
                <span className={`badge ${d.kind === 'rollback' ? 'badge-warn' : ''}`}>{d.kind === 'rollback' ? 'rollback' : 'deploy'}</span>{' '}
                <Link className="mono" href={bundleHref(projectId, d.bundleHash)}>
                  {shortHash(d.bundleHash)}
                </Link>{' '}
                by {d.activatedBy}
                {d.active && <span className="badge badge-active">active</span>}
              </div>
              <div className="deploy-why">{d.reason}</div>
              {canDeploy && !d.active && d.bundleHash !== activeHash && <RollbackButton projectId={projectId} to={d} />}
            </li>
          ))}
        </ol>
      )}
    </Card>
  );
}

type ImportOutcome = { bundle: { hash: string }; created: boolean; modelVersionsCreated: { model: string; version: number }[] };

function ImportBundle({ projectId }: { projectId: string }) {
  const invalidate = useInvalidateProduction(projectId);
  const file = useRef<HTMLInputElement>(null);
  const [state, setState] = useState<{ busy: boolean; error: string | null; result: ImportOutcome | null }>({ busy: false, error: null, result: null });
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const f = file.current?.files?.[0];
    if (!f) return;
    setState({ busy: true, error: null, result: null });
    try {
      const res = await fetch(`/api/v1/projects/${projectId}/bundles/import`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: f, credentials: 'same-origin' });
      const body = (await res.json().catch(() => null)) as (ImportOutcome & { error?: { message?: string }; message?: string }) | null;
      if (!res.ok) throw new Error(body?.error?.message ?? body?.message ?? `import failed (HTTP ${res.status})`);
      setState({ busy: false, error: null, result: body });
      await invalidate();
    } catch (err) {
      setState({ busy: false, error: (err as Error).message, result: null });
    }
  };
  return (
    <Card title="Import a bundle" id="import-bundle" description="A .tar.gz exported from another Stagebook. Every hash is verified; a damaged file changes nothing.">
      <form className="stack" onSubmit={submit}>
        <input ref={file} type="file" accept=".gz,.tgz,application/gzip" aria-label="Bundle file" required />
        <button type="submit" className="btn btn-primary" disabled={state.busy}>
          {state.busy ? 'Importing…' : 'Import'}
        </button>
        {state.error && (
          <p className="error" role="alert">
            {state.error}
          </p>
        )}
        {state.result && (
          <p className="success" role="status">
            {state.result.created ? 'Imported' : 'Already here:'} bundle{' '}
            <Link className="mono" href={bundleHref(projectId, state.result.bundle.hash)}>
              {shortHash(state.result.bundle.hash)}
            </Link>
            {state.result.modelVersionsCreated.length > 0 && <> with {state.result.modelVersionsCreated.map((m) => `${m.model} v${m.version}`).join(', ')}</>}.
          </p>
        )}
      </form>
    </Card>
  );
}
