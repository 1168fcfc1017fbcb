'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { useTRPC } from '../trpc';
import type { RouterOutputs } from '../types';
import { Card, ErrorMessage } from '../ui';

export type CreatedChannel = RouterOutputs['notifications']['create'];
type Kind = 'webhook' | 'email';

/** Recipients as people type them: separated by commas, spaces or new lines. */
function recipients(text: string): string[] {
  return text.split(/[\s,;]+/).filter(Boolean);
}

export function CreateChannelForm({ projectId, onCreated }: { projectId: string; onCreated: (c: CreatedChannel) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const id = useId();
  const [name, setName] = useState('');
  const [kind, setKind] = useState<Kind>('webhook');
  const [url, setUrl] = useState('');
  const [to, setTo] = useState('');
  const create = useMutation(
    trpc.notifications.create.mutationOptions({
      onSuccess: async (c) => {
        onCreated(c);
        setName('');
        setUrl('');
        setTo('');
        await queryClient.invalidateQueries({ queryKey: trpc.notifications.list.queryKey({ projectId }) });
      },
    }),
  );
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(kind === 'webhook' ? { projectId, name, kind, url } : { projectId, name, kind, to: recipients(to) });
  };
  return (
    <Card title="Add a channel" description="A webhook gets a signed JSON POST; an email channel a short message, both with a link to the run." id="add-channel">
      <form className="form form-narrow" onSubmit={onSubmit} aria-label="Add a channel">
        <label className="field">
          <span>Name</span>
          <input name="channelName" value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. ops-alerts" maxLength={63} spellCheck={false} />
          <small className="hint">
            Lowercase; a scenario’s notify step refers to it as <code>channel: {name || 'ops-alerts'}</code>.
          </small>
        </label>
        <fieldset className="field">
          <legend>Kind</legend>
          <div className="notif-kinds" role="radiogroup">
            {(['webhook', 'email'] as const).map((k) => (
              <label key={k} className={kind === k ? 'notif-kind-option notif-kind-option-active' : 'notif-kind-option'}>
                <input type="radio" name="kind" value={k} checked={kind === k} onChange={() => setKind(k)} />
                <span className="strong">{k === 'webhook' ? 'Webhook' : 'Email'}</span>
                <span className="muted">{k === 'webhook' ? 'JSON POST, signed, retried' : 'through the server’s SMTP'}</span>
              </label>
            ))}
          </div>
        </fieldset>
        {kind === 'webhook' ? (
          <div className="field">
            <label htmlFor={`${id}-url`}>URL</label>
            <input id={`${id}-url`} name="url" type="url" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://hooks.example.com/stagebook" spellCheck={false} />
            <small className="hint">http:// or https://; internal addresses are fine. Redirects are not followed.</small>
          </div>
        ) : (
          <div className="field">
            <label htmlFor={`${id}-to`}>Recipients</label>
            <textarea id={`${id}-to`} name="to" rows={2} value={to} onChange={(e) => setTo(e.target.value)} placeholder="ml-team@example.com, oncall@example.com" spellCheck={false} />
            <small className="hint">Separated by commas or new lines; at most 20.</small>
          </div>
        )}
        <ErrorMessage error={create.error} />
        <button type="submit" className="btn btn-primary" disabled={create.isPending}>
          {create.isPending ? 'Adding…' : 'Add channel'}
        </button>
      </form>
    </Card>
  );
}
