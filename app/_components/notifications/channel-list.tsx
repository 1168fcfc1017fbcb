'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ConfirmButton } from '../confirm-button';
import { formatDateTime } from '../format';
import { useTRPC } from '../trpc';
import type { RouterOutputs } from '../types';
import { Card, EmptyState, ErrorMessage, Loading } from '../ui';
import { answerLabel, DeliveryStatusBadge, errorDetail } from './delivery-status';

type Channel = RouterOutputs['notifications']['list'][number];
type TestResult = RouterOutputs['notifications']['test'];

export function ChannelList({ projectId, canManage }: { projectId: string; canManage: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const channels = useQuery(trpc.notifications.list.queryOptions({ projectId }));
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.notifications.list.queryKey({ projectId }) }),
      queryClient.invalidateQueries({ queryKey: trpc.notifications.deliveries.queryKey() }),
    ]);
  const remove = useMutation(trpc.notifications.delete.mutationOptions({ onSettled: refresh }));
  return (
    <Card title="Channels" description="Where scenarios report failures, successes and retrain gate decisions: a notify step names a channel." id="channels">
      <ErrorMessage error={remove.error} />
      {channels.isPending ? (
        <Loading />
      ) : channels.isError ? (
        <ErrorMessage error={channels.error} />
      ) : channels.data.length === 0 ? (
        <EmptyState title="No notification channels yet.">
          {canManage ? 'Add a webhook or an email channel below, then send a test.' : 'A deployer of this team can add webhook and email channels.'}
        </EmptyState>
      ) : (
        <div className="table-scroll">
          <table className="table notif-channels" aria-label="Notification channels">
            <thead>
              <tr>
                <th>Name</th>
                <th>Kind</th>
                <th>Target</th>
                <th>Last delivery</th>
                {canManage && <th className="align-right">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {channels.data.map((c) => (
                <ChannelRow
                  key={c.id}
                  projectId={projectId}
                  channel={c}
                  canManage={canManage}
                  deleting={remove.isPending && remove.variables.name === c.name}
                  onDelete={() => remove.mutate({ projectId, name: c.name })}
                  onTested={refresh}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

function ChannelRow({ projectId, channel: c, canManage, deleting, onDelete, onTested }: {
  projectId: string;
  channel: Channel;
  canManage: boolean;
  deleting: boolean;
  onDelete: () => void;
  onTested: () => Promise<unknown>;
}) {
  const trpc = useTRPC();
  const test = useMutation(trpc.notifications.test.mutationOptions({ onSettled: onTested }));
  const last = c.lastDelivery;
  return (
    <tr data-channel={c.name} className={c.disabledAt ? 'row-muted' : undefined}>
      <td className="strong nowrap">{c.name}</td>
      <td className="nowrap">
        <span className={`badge notif-kind notif-kind-${c.kind}`}>{c.kind}</span>
      </td>
      <td className="notif-target">
        <code title={c.target}>{c.target}</code>
      </td>
      <td className="nowrap">
        {last ? (
          <span className="notif-last">
            <DeliveryStatusBadge status={last.status} />
            <span className="muted">
              {last.event} · {formatDateTime(last.at)}
            </span>
          </span>
        ) : (
          <span className="muted">Never</span>
        )}
      </td>
      {canManage && (
        <td className="align-right">
          <div className="notif-actions">
            <button type="button" className="btn btn-sm" disabled={test.isPending} onClick={() => test.mutate({ projectId, name: c.name })}>
              {test.isPending ? 'Sending…' : 'Send test'}
            </button>
            <ConfirmButton
              label="Delete"
              confirmLabel="Delete channel"
              question={`Delete ${c.name} and its delivery history? Scenarios naming it will fail to notify.`}
              pending={deleting}
              onConfirm={onDelete}
            />
          </div>
          {test.error && <p className="notif-test-result notif-test-failed" role="alert">{test.error.message}</p>}
          {test.data && <TestOutcome kind={c.kind} result={test.data} />}
        </td>
      )}
    </tr>
  );
}

function TestOutcome({ kind, result }: { kind: 'webhook' | 'email'; result: TestResult }) {
  const answer = answerLabel(kind, result.statusCode);
  return (
    <p className={`notif-test-result notif-test-${result.status}`} role="status" aria-label="Test result">
      <DeliveryStatusBadge status={result.status} />
      {answer && <span className="notif-answer">{answer}</span>}
      {result.error && <span className="notif-error">{errorDetail(result.error, answer)}</span>}
    </p>
  );
}
