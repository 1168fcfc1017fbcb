import type { NotificationEvent } from '@/db/schema';
import { assertNever } from '../errors';

/**
 * The JSON every channel is sent (a webhook's body, verbatim; an email is written from it). Fields
 * are only ever added: receivers parse it.
 */
export type NotificationPayload = {
  /** The delivery id, also sent as `x-stagebook-delivery`. */
  id: string;
  event: NotificationEvent;
  createdAt: string;
  project: { id: string; name: string };
  channel: string;
  runId: string | null;
  /** Absolute under STAGEBOOK_PUBLIC_URL when it is set, else a path on the Stagebook server. */
  runUrl: string | null;
  message: string | null;
  /** What the sender adds: the scenario, the gate's decision and metrics, the error. */
  data: Record<string, unknown>;
};

export function eventTitle(event: NotificationEvent): string {
  switch (event) {
    case 'scenario.failed':
      return 'Scenario failed';
    case 'scenario.succeeded':
      return 'Scenario succeeded';
    case 'gate.decision':
      return 'Retrain gate decision';
    case 'test':
      return 'Test notification';
    default:
      return assertNever(event, 'notification event');
  }
}

const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => escapes[c]!);

function detailLines(data: Record<string, unknown>): [string, string][] {
  return Object.entries(data)
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]);
}

/** Subject, plain text and a simple HTML part; the run link is in all of them. */
export function formatEmail(p: NotificationPayload): { subject: string; text: string; html: string } {
  const scenario = typeof p.data.scenario === 'string' ? ` "${p.data.scenario}"` : '';
  const title = p.event === 'scenario.failed' || p.event === 'scenario.succeeded' ? `Scenario${scenario} ${p.event === 'scenario.failed' ? 'failed' : 'succeeded'}` : eventTitle(p.event);
  const subject = `[Stagebook] ${p.project.name}: ${title}`;
  const details = detailLines(p.data);
  const text = [
    `${title} in project ${p.project.name}.`,
    ...(p.message ? ['', p.message] : []),
    ...(details.length ? ['', ...details.map(([k, v]) => `${k}: ${v}`)] : []),
    ...(p.runUrl ? ['', `Run: ${p.runUrl}`] : []),
    '',
    `-- Stagebook notification channel "${p.channel}" (delivery ${p.id})`,
  ].join('\n');
  const html = [
    '<!doctype html><html><body style="font-family: system-ui, sans-serif; line-height: 1.5; color: #1f2330">',
    `<h2 style="margin: 0 0 8px">${escapeHtml(title)}</h2>`,
    `<p style="margin: 0 0 12px; color: #5b6172">Project <strong>${escapeHtml(p.project.name)}</strong></p>`,
    p.message ? `<p style="white-space: pre-wrap">${escapeHtml(p.message)}</p>` : '',
    details.length
      ? `<table style="border-collapse: collapse">${details.map(([k, v]) => `<tr><td style="padding: 2px 12px 2px 0; color: #5b6172">${escapeHtml(k)}</td><td style="padding: 2px 0"><code>${escapeHtml(v)}</code></td></tr>`).join('')}</table>`
      : '',
    p.runUrl ? `<p><a href="${escapeHtml(p.runUrl)}">Open the run</a></p>` : '',
    `<p style="color: #8a8f9c; font-size: 12px">Stagebook notification channel “${escapeHtml(p.channel)}” · delivery ${escapeHtml(p.id)}</p>`,
    '</body></html>',
  ].join('');
  return { subject, text, html };
}
