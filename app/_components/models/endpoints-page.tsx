'use client';

import './models.css';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useState, type FormEvent } from 'react';
import { ProjectSubpage } from '../datasets/project-subpage';
import { formatDateTime } from '../format';
import { useTRPC } from '../trpc';
import { roleAtLeast } from '../types';
import { Card, EmptyState, ErrorMessage, Loading } from '../ui';
import { endpointHref, modelHref, NAME_PATTERN, NAME_RULE, trainHref, type Endpoint } from './types';

/** The project's real-time scoring endpoints, and (for deployers) a form to create one. */
export function EndpointsPage({ projectId, model }: { projectId: string; model?: string }) {
  return (
    <ProjectSubpage
      projectId={projectId}
      section="Models"
      title="Endpoints"
      description={
        <>
          Each endpoint is a URL scoring clients post records to, authorised by API keys with the scope <code>score:&lt;endpoint&gt;</code>. It serves its model&apos;s champion, or a pinned version.
        </>
      }
    >
      {({ myRole }) => (
        <div className="grid-2-1">
          <EndpointsTable projectId={projectId} />
          {roleAtLeast(myRole, 'deployer') ? (
            <CreateEndpointForm projectId={projectId} {...(model ? { initialModel: model } : {})} />
          ) : (
            <Card title="Create an endpoint">
              <p className="muted">Deployers create endpoints and change what they serve.</p>
            </Card>
          )}
        </div>
      )}
    </ProjectSubpage>
  );
}

export function servingLabel(e: Endpoint): string {
  if (e.servingVersion === null) return 'nothing to serve';
  return e.pinnedVersion !== null ? `v${e.servingVersion} (pinned)` : `v${e.servingVersion} (champion)`;
}

function EndpointsTable({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const endpoints = useQuery(trpc.endpoints.list.queryOptions({ projectId }));
  return (
    <Card title="Endpoints" id="endpoints">
      {endpoints.isPending ? (
        <Loading />
      ) : endpoints.isError ? (
        <ErrorMessage error={endpoints.error} />
      ) : endpoints.data.length === 0 ? (
        <EmptyState title="No endpoints yet.">Create one to score records over HTTP in real time.</EmptyState>
      ) : (
        <div className="table-scroll">
          <table className="table endpoints-table">
            <thead>
              <tr>
                <th>Endpoint</th>
                <th>Model</th>
                <th>Serving</th>
                <th>URL</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {endpoints.data.map((e) => (
                <tr key={e.id}>
                  <td>
                    <Link href={endpointHref(projectId, e.name)} className="strong-link">
                      <code>{e.name}</code>
                    </Link>
                  </td>
                  <td>
                    <Link href={modelHref(projectId, e.model)}>
                      <code>{e.model}</code>
                    </Link>
                  </td>
                  <td className="nowrap">{servingLabel(e)}</td>
                  <td>
                    <code className="muted">POST {e.path}</code>
                  </td>
                  <td className="muted nowrap">{formatDateTime(e.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

function CreateEndpointForm({ projectId, initialModel }: { projectId: string; initialModel?: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const models = useQuery(trpc.models.list.queryOptions({ projectId }));
  const [name, setName] = useState('');
  const [model, setModel] = useState(initialModel ?? '');
  const [version, setVersion] = useState('');
  const [description, setDescription] = useState('');
  useEffect(() => {
    if (!model && models.data?.[0]) setModel(models.data[0].name);
  }, [model, models.data]);
  const versions = useQuery({ ...trpc.models.versions.queryOptions({ projectId, name: model }), enabled: Boolean(model) });
  const create = useMutation(
    trpc.endpoints.create.mutationOptions({
      onSuccess: async (e) => {
        await queryClient.invalidateQueries({ queryKey: trpc.endpoints.list.queryKey({ projectId }) });
        router.push(endpointHref(projectId, e.name));
      },
    }),
  );
  const nameProblem = name && !NAME_PATTERN.test(name) ? NAME_RULE : null;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ projectId, name, model, version: version ? Number(version) : null, description });
  };

  if (models.data?.length === 0) {
    return (
      <Card title="Create an endpoint">
        <p className="muted">
          An endpoint serves a model: <Link href={trainHref(projectId)}>train or import one</Link> first.
        </p>
      </Card>
    );
  }
  return (
    <Card title="Create an endpoint" description="Names are unique across Stagebook: they are part of the URL." id="create-endpoint">
      <form className="form" onSubmit={submit} aria-label="Create an endpoint">
        <label className="field">
          <span>Name</span>
          <input name="endpointName" value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. credit-risk" maxLength={63} aria-invalid={Boolean(nameProblem)} />
          <span className={nameProblem ? 'hint hint-error' : 'hint'}>{nameProblem ?? (name ? `POST /api/v1/endpoints/${name}/predict · key scope score:${name}` : NAME_RULE)}</span>
        </label>
        <label className="field">
          <span>Model</span>
          <select name="endpointModel" value={model} onChange={(e) => (setModel(e.target.value), setVersion(''))}>
            {models.data?.map((m) => (
              <option key={m.id} value={m.name}>
                {m.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Serve</span>
          <select name="endpointVersion" value={version} onChange={(e) => setVersion(e.target.value)}>
            <option value="">The champion (follows changes)</option>
            {versions.data?.map((v) => (
              <option key={v.id} value={v.version}>
                Pinned: v{v.version}
                {v.champion ? ' (champion now)' : ''}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>
            Description <span className="muted">(optional)</span>
          </span>
          <input name="endpointDescription" value={description} onChange={(e) => setDescription(e.target.value)} maxLength={2000} />
        </label>
        <ErrorMessage error={create.error} />
        <button type="submit" className="btn btn-primary" disabled={create.isPending || !name || !model || Boolean(nameProblem)}>
          {create.isPending ? 'Creating…' : 'Create endpoint'}
        </button>
      </form>
    </Card>
  );
}
