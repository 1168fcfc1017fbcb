'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { useTRPC } from './trpc';
import { Card, ErrorMessage, FieldError, fieldError } from './ui';

export type CreatedKey = { name: string; secret: string };

const baseScopes = [
  { scope: 'read', help: 'project metadata, runs and audit' },
  { scope: 'run', help: 'start runs' },
  { scope: 'deploy', help: 'promote, export and import bundles; deploy and roll back' },
] as const;

/**
 * The project's endpoints (for `score:`) and source datasets (for `ingest:`, the datasets rows are
 * appended to), to tick rather than type; names that do not exist yet still go in "More scopes".
 */
function useResourceScopes(projectId: string): { scope: string; help: string }[] {
  const trpc = useTRPC();
  const endpoints = useQuery(trpc.endpoints.list.queryOptions({ projectId }));
  const design = useQuery(trpc.datasets.list.queryOptions({ projectId }));
  const production = useQuery(trpc.datasets.list.queryOptions({ projectId, environment: 'production' }));
  const score = (endpoints.data ?? []).map((e) => ({ scope: `score:${e.name}`, help: `score with endpoint ${e.name}` }));
  const sources = new Set([...(design.data ?? []), ...(production.data ?? [])].filter((d) => d.kind === 'source').map((d) => d.name));
  const ingest = [...sources].sort().map((name) => ({ scope: `ingest:${name}`, help: `append rows to dataset ${name}` }));
  return [...score, ...ingest];
}

export function CreateApiKeyForm({ projectId, onCreated }: { projectId: string; onCreated: (key: CreatedKey) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const formId = useId();
  const [name, setName] = useState('');
  const [checked, setChecked] = useState<Record<string, boolean>>({ read: true });
  const resourceScopes = useResourceScopes(projectId);
  const [extra, setExtra] = useState('');
  const create = useMutation(
    trpc.apiKeys.create.mutationOptions({
      onSuccess: async (key) => {
        onCreated({ name: key.name, secret: key.secret });
        setName('');
        setChecked({ read: true });
        setExtra('');
        await queryClient.invalidateQueries({ queryKey: trpc.apiKeys.list.queryKey({ projectId }) });
      },
    }),
  );
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const scopes = [
      ...[...baseScopes, ...resourceScopes].filter((b) => checked[b.scope]).map((b) => b.scope),
      ...extra.split(/[\s,]+/).filter(Boolean),
    ];
    create.mutate({ projectId, name, scopes });
  };
  return (
    <Card title="Create an API key" description="The secret is shown once, right after creation." id="create-key">
      <form className="form form-narrow" onSubmit={onSubmit}>
        <label className="field">
          <span>Name</span>
          <input name="keyName" value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. ci-deploy" maxLength={80} aria-invalid={Boolean(fieldError(create.error, 'name'))} />
          <FieldError error={create.error} field="name" />
        </label>
        <fieldset className="field">
          <legend>Scopes</legend>
          {baseScopes.map((b) => (
            <label key={b.scope} className="check">
              <input
                type="checkbox"
                name={`scope-${b.scope}`}
                checked={Boolean(checked[b.scope])}
                onChange={(e) => setChecked({ ...checked, [b.scope]: e.target.checked })}
              />
              <code>{b.scope}</code>
              <span className="muted">{b.help}</span>
            </label>
          ))}
        </fieldset>
        {resourceScopes.length > 0 && (
          <fieldset className="field">
            <legend>Endpoints and datasets</legend>
            {resourceScopes.map((b) => (
              <label key={b.scope} className="check">
                <input
                  type="checkbox"
                  name={`scope-${b.scope}`}
                  checked={Boolean(checked[b.scope])}
                  onChange={(e) => setChecked({ ...checked, [b.scope]: e.target.checked })}
                />
                <code>{b.scope}</code>
                <span className="muted">{b.help}</span>
              </label>
            ))}
          </fieldset>
        )}
        <div className="field">
          <label htmlFor={`${formId}-extra`}>
            More scopes <span className="muted">(optional)</span>
          </label>
          <input
            id={`${formId}-extra`}
            name="extraScopes"
            value={extra}
            onChange={(e) => setExtra(e.target.value)}
            placeholder="score:churn ingest:events"
            spellCheck={false}
            aria-describedby={`${formId}-extra-hint`}
          />
          <small className="hint" id={`${formId}-extra-hint`}>
            <code>score:&lt;endpoint&gt;</code> and <code>ingest:&lt;dataset&gt;</code>, separated by spaces or commas.
          </small>
        </div>
        <FieldError error={create.error} field="scopes" />
        <ErrorMessage error={create.error} fields={['name', 'scopes']} />
        <button type="submit" className="btn btn-primary" disabled={create.isPending}>
          {create.isPending ? 'Creating…' : 'Create key'}
        </button>
      </form>
    </Card>
  );
}
