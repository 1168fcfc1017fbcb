'use client';

import { useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { formatDateTimeSeconds, shortId } from '../format';
import { useTRPC } from '../trpc';
import { Card, EmptyState, ErrorMessage, Loading } from '../ui';
import { answerLabel, DeliveryStatusBadge, errorDetail } from './delivery-status';

/** While anything is pending (a retry in flight), the table refreshes itself. */
const PENDING_REFRESH_MS = 3_000;

export function DeliveriesTable({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const id = useId();
  const [channel, setChannel] = useState('');
  const channels = useQuery(trpc.notifications.list.queryOptions({ projectId }));
  const deliveries = useQuery({
    ...trpc.notifications.deliveries.queryOptions({ projectId, ...(channel ? { channel } : {}) }),
    refetchInterval: (q) => (q.state.data?.some((d) => d.status === 'pending') ? PENDING_REFRESH_MS : false),
  });
  const filter = (channels.data?.length ?? 0) > 1 && (
    <label className="field-inline notif-filter" htmlFor={`${id}-channel`}>
      <span>Channel</span>
      <select id={`${id}-channel`} className="select-sm" value={channel} onChange={(e) => setChannel(e.target.value)}>
        <option value="">All channels</option>
        {channels.data?.map((c) => (
          <option key={c.id} value={c.name}>
            {c.name}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <Card title="Recent deliveries" description="The 50 newest; each attempt of a retried delivery is counted on its row." actions={filter || undefined} id="deliveries">
      {deliveries.isPending ? (
        <Loading />
      ) : deliveries.isError ? (
        <ErrorMessage error={deliveries.error} />
      ) : deliveries.data.length === 0 ? (
        <EmptyState title="Nothing sent yet.">Deliveries appear here when a scenario notifies or someone sends a test.</EmptyState>
      ) : (
        <div className="table-scroll">
          <table className="table notif-deliveries" aria-label="Recent deliveries">
            <thead>
              <tr>
                <th>Created</th>
                <th>Channel</th>
                <th>Event</th>
                <th>Status</th>
                <th className="align-right">Attempts</th>
                <th>Last answer</th>
                <th>Run</th>
              </tr>
            </thead>
            <tbody>
              {deliveries.data.map((d) => {
                const answer = answerLabel(d.kind, d.lastStatusCode);
                return (
                  <tr key={d.id} data-delivery={d.id}>
                    <td className="muted nowrap">{formatDateTimeSeconds(d.createdAt)}</td>
                    <td className="strong nowrap">{d.channel}</td>
                    <td className="nowrap">
                      <code>{d.event}</code>
                    </td>
                    <td className="nowrap">
                      <DeliveryStatusBadge status={d.status} />
                    </td>
                    <td className="align-right">{d.attempts}</td>
                    <td>
                      <div className="notif-answer-cell">
                        {answer && <span className="notif-answer">{answer}</span>}
                        {d.lastError && errorDetail(d.lastError, answer) && <span className="notif-error" title={d.lastError}>{errorDetail(d.lastError, answer)}</span>}
                        {!answer && !d.lastError && <span className="muted">—</span>}
                      </div>
                    </td>
                    <td className="nowrap">{d.runId && d.runUrl ? <a href={d.runUrl}>{shortId(d.runId)}</a> : <span className="muted">—</span>}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}
