'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ConfirmButton } from './confirm-button';
import { CreateApiKeyForm, type CreatedKey } from './create-api-key-form';
import { formatDateTime } from './format';
import { ProjectFrame } from './project-header';
import { SecretBox } from './secret-box';
import { useTRPC } from './trpc';
import type { ApiKey } from './types';
import { Card, EmptyState, ErrorMessage, Loading } from './ui';

export function ApiKeysPage({ projectId }: { projectId: string }) {
  return (
    <ProjectFrame projectId={projectId} active={`/projects/${projectId}/api-keys`}>
      {(_project, myRole) =>
        myRole === 'admin' ? (
          <ApiKeys projectId={projectId} />
        ) : (
          <Card title="API keys">
            <EmptyState title="Only team admins can see and manage API keys.">Ask an admin of this team for a key with the scopes you need.</EmptyState>
          </Card>
        )
      }
    </ProjectFrame>
  );
}

function ApiKeys({ projectId }: { projectId: string }) {
  const [created, setCreated] = useState<CreatedKey | null>(null);
  return (
    <div className="stack">
      {created && <SecretBox name={created.name} secret={created.secret} onDone={() => setCreated(null)} />}
      <KeyList projectId={projectId} />
      <CreateApiKeyForm projectId={projectId} onCreated={setCreated} />
    </div>
  );
}

function KeyList({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const keys = useQuery(trpc.apiKeys.list.queryOptions({ projectId }));
  const revoke = useMutation(
    trpc.apiKeys.revoke.mutationOptions({
      onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.apiKeys.list.queryKey({ projectId }) }),
    }),
  );
  return (
    <Card title="API keys" description="Keys let scripts, CI and scoring clients call this project’s API." id="api-keys">
      <ErrorMessage error={revoke.error} />
      {keys.isPending ? (
        <Loading />
      ) : keys.isError ? (
        <ErrorMessage error={keys.error} />
      ) : keys.data.length === 0 ? (
        <EmptyState title="No API keys yet.">Create one below; give it only the scopes its client needs.</EmptyState>
      ) : (
        <div className="table-scroll">
          <table className="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Key</th>
                <th>Scopes</th>
                <th>Created</th>
                <th>Last used</th>
                <th>Status</th>
                <th className="align-right">Actions</th>
              </tr>
            </thead>
            <tbody>
              {keys.data.map((k) => (
                <KeyRow key={k.id} apiKey={k} revoking={revoke.isPending && revoke.variables.keyId === k.id} onRevoke={() => revoke.mutate({ projectId, keyId: k.id })} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

function KeyRow({ apiKey: k, revoking, onRevoke }: { apiKey: ApiKey; revoking: boolean; onRevoke: () => void }) {
  return (
    <tr className={k.revokedAt ? 'row-muted' : undefined}>
      <td className="strong nowrap">{k.name}</td>
      <td className="nowrap">
        <code>{k.prefix}…</code>
      </td>
      <td>
        <span className="scopes">
          {k.scopes.map((s) => (
            <span key={s} className="badge badge-scope">
              {s}
            </span>
          ))}
        </span>
      </td>
      <td className="muted nowrap">{formatDateTime(k.createdAt)}</td>
      <td className="muted">
        <span className="nowrap">{formatDateTime(k.lastUsedAt, 'Never')}</span>
        {k.lastUsedWhere && <span className="key-last-where mono">{k.lastUsedWhere}</span>}
      </td>
      <td className="nowrap">
        {k.revokedAt ? (
          <>
            <span className="badge badge-revoked">Revoked</span>
            <span className="revoked-at">{formatDateTime(k.revokedAt)}</span>
          </>
        ) : (
          <span className="badge badge-active">Active</span>
        )}
      </td>
      <td className="align-right nowrap">
        {!k.revokedAt && (
          <ConfirmButton label="Revoke" confirmLabel="Revoke key" question={`Revoke ${k.name}? Clients using it stop working.`} pending={revoking} onConfirm={onRevoke} />
        )}
      </td>
    </tr>
  );
}
