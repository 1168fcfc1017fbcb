import type { RouterOutputs } from '../types';

export type DeliveryStatus = RouterOutputs['notifications']['deliveries'][number]['status'];

export function DeliveryStatusBadge({ status }: { status: DeliveryStatus }) {
  return (
    <span className={`badge notif-status notif-status-${status}`} data-status={status}>
      {status === 'pending' && <span className="pulse" aria-hidden />}
      {status}
    </span>
  );
}

/** `HTTP 200`, `SMTP 550`, or nothing, for a delivery's last answer. */
export function answerLabel(kind: 'webhook' | 'email', statusCode: number | null): string | null {
  if (statusCode === null) return null;
  return `${kind === 'webhook' ? 'HTTP' : 'SMTP'} ${statusCode}`;
}

/** The error without the status it starts with, when the status is shown beside it. */
export function errorDetail(error: string, answer: string | null): string {
  return answer && error.startsWith(answer) ? error.slice(answer.length).replace(/^:\s*/, '') : error;
}
