'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { useTRPC } from './trpc';
import { Card, ErrorMessage, FieldError, fieldError } from './ui';

export type CreatedKey = { name: string; secret: string };

const baseScopes = [
  { scope: 'read', help: 'project metadata, runs and audit' },
  { scope: 'run', help: 'start runs' },
] as const;

export function CreateApiKeyForm({ projectId, onCreated }: { projectId: string; onCreated: (key: CreatedKey) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const formId = useId();
  const [name, setName] = useState('');
  const [checked, setChecked] = useState<Record<string, boolean>>({ read: true, run: false });
  const [extra, setExtra] = useState('');
  const create = useMutation(
    trpc.apiKeys.create.mutationOptions({
      onSuccess: async (key) => {
        onCreated({ name: key.name, secret: key.secret });
        setName('');
        setChecked({ read: true, run: false });
        setExtra('');
        await queryClient.invalidateQueries({ queryKey: trpc.apiKeys.list.queryKey({ projectId }) });
      },
    }),
  );
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const scopes = [
      ...baseScopes.filter((b) => checked[b.scope]).map((b) => b.scope),
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
        <ErrorMessage error={create.error} fields={['name']} />
        <button type="submit" className="btn btn-primary" disabled={create.isPending}>
          {create.isPending ? 'Creating…' : 'Create key'}
        </button>
      </form>
    </Card>
  );
}
