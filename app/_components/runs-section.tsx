'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { formatDateTime, formatDuration, shortId } from './format';
import { useTRPC } from './trpc';
import type { Run } from './types';
import { Card, EmptyState, ErrorMessage, Loading, StatusBadge } from './ui';

const inFlight = (r: Run) => r.status === 'queued' || r.status === 'running';

export function RunsSection({ projectId, canStart }: { projectId: string; canStart: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [message, setMessage] = useState('hello from Stagebook');
  const runs = useQuery(
    trpc.runs.list.queryOptions(
      { projectId, limit: 20 },
      // Poll only while something is still moving.
      { refetchInterval: (q) => (q.state.data?.some(inFlight) ? 1_000 : false) },
    ),
  );
  const start = useMutation(
    trpc.runs.startHello.mutationOptions({
      onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.runs.list.queryKey({ projectId, limit: 20 }) }),
    }),
  );
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    start.mutate({ projectId, message });
  };

  return (
    <Card title="Runs" description="Each run is a durable workflow; its steps survive restarts." id="runs">
      {canStart && (
        <form className="inline-form" onSubmit={onSubmit}>
          <label className="field field-grow">
            <span>Message</span>
            <input name="runMessage" value={message} onChange={(e) => setMessage(e.target.value)} maxLength={500} />
          </label>
          <button type="submit" className="btn btn-primary" disabled={start.isPending}>
            {start.isPending ? 'Starting…' : 'Start hello run'}
          </button>
        </form>
      )}
      <ErrorMessage error={start.error} />
      {runs.isPending ? (
        <Loading />
      ) : runs.isError ? (
        <ErrorMessage error={runs.error} />
      ) : runs.data.length === 0 ? (
        <EmptyState title="No runs yet.">
          {canStart ? 'Start a hello run to check that workflows run end to end.' : 'Editors of this team can start runs.'}
        </EmptyState>
      ) : (
        <div className="table-scroll">
          <table className="table">
            <thead>
              <tr>
                <th>Status</th>
                <th>Run</th>
                <th>Message</th>
                <th>Started by</th>
                <th>Started</th>
                <th>Finished</th>
                <th>Duration</th>
              </tr>
            </thead>
            <tbody>
              {runs.data.map((r) => (
                <tr key={r.id}>
                  <td>
                    <StatusBadge status={r.status} />
                  </td>
                  <td>
                    {r.kind === 'build' ? (
                      <Link href={`/projects/${projectId}/builds/${r.id}`}>
                        <code title={r.id}>{r.kind}-{shortId(r.id)}</code>
                      </Link>
                    ) : (
                      <code title={r.id}>{r.kind}-{shortId(r.id)}</code>
                    )}
                  </td>
                  <td className="truncate" title={r.error ?? undefined}>
                    {typeof r.input.message === 'string' ? r.input.message : '—'}
                    {r.error && <span className="row-error">{r.error}</span>}
                  </td>
                  <td className="muted">{r.createdBy}</td>
                  <td className="muted nowrap">{formatDateTime(r.startedAt ?? r.createdAt)}</td>
                  <td className="muted nowrap">{formatDateTime(r.finishedAt)}</td>
                  <td className="muted nowrap">{formatDuration(r.startedAt ?? r.createdAt, r.finishedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}
