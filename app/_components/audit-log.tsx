'use client';

import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { auditActionLabels, auditActions, summarizeDetails } from './audit-actions';
import { auditTargetHref, auditTargetText } from './audit-targets';
import { formatDateTimeSeconds, shortId } from './format';
import { useTRPC } from './trpc';
import type { AuditAction, AuditEvent } from './types';
import { Card, EmptyState, ErrorMessage, Loading } from './ui';

type Filters = { action: AuditAction | ''; actor: string; target: string; from: string; to: string };
const noFilters: Filters = { action: '', actor: '', target: '', from: '', to: '' };
const PAGE_SIZE = 50;

/** `<input type="date">` values are local calendar days; `to` includes the whole day. */
function dayStart(day: string): Date | undefined {
  return day ? new Date(`${day}T00:00:00`) : undefined;
}
function dayEnd(day: string): Date | undefined {
  return day ? new Date(`${day}T23:59:59.999`) : undefined;
}

export function AuditLog({ scope }: { scope: { teamId: string } | { projectId: string } }) {
  const trpc = useTRPC();
  const [draft, setDraft] = useState<Filters>(noFilters);
  const [applied, setApplied] = useState<Filters>(noFilters);
  const input = {
    ...scope,
    limit: PAGE_SIZE,
    ...(applied.action ? { action: applied.action } : {}),
    ...(applied.actor.trim() ? { actor: applied.actor.trim() } : {}),
    ...(applied.target.trim() ? { target: applied.target.trim() } : {}),
    ...(applied.from ? { from: dayStart(applied.from) } : {}),
    ...(applied.to ? { to: dayEnd(applied.to) } : {}),
  };
  const events = useInfiniteQuery(
    trpc.audit.list.infiniteQueryOptions(input, { getNextPageParam: (last) => last.nextCursor ?? undefined }),
  );
  const rows = events.data?.pages.flatMap((p) => p.events) ?? [];
  // The team log names each event's project (a team-level event has none).
  const teamId = 'teamId' in scope ? scope.teamId : '';
  const projects = useQuery({ ...trpc.projects.list.queryOptions({ teamId }), enabled: Boolean(teamId) });
  const projectNames = new Map((projects.data ?? []).map((p) => [p.id, p.name]));
  const filtered = JSON.stringify(applied) !== JSON.stringify(noFilters);

  const apply = (e: FormEvent) => {
    e.preventDefault();
    setApplied(draft);
  };
  const setAction = (action: Filters['action']) => {
    setDraft((d) => ({ ...d, action }));
    setApplied((a) => ({ ...a, action }));
  };

  return (
    <Card title="Audit log" description="Every change, newest first. Events are hash-chained and cannot be edited." id="audit">
      <form className="filters" onSubmit={apply} aria-label="Filter audit events">
        <label className="field field-inline">
          <span>Action</span>
          <select name="action" value={draft.action} onChange={(e) => setAction(e.target.value as Filters['action'])}>
            <option value="">All actions</option>
            {auditActions.map((a) => (
              <option key={a} value={a}>
                {a} — {auditActionLabels[a] ?? a}
              </option>
            ))}
          </select>
        </label>
        <label className="field field-inline">
          <span>Actor</span>
          <input name="actor" value={draft.actor} onChange={(e) => setDraft({ ...draft, actor: e.target.value })} placeholder="email, key:name or build of …" />
        </label>
        <label className="field field-inline">
          <span>Target</span>
          <input name="target" value={draft.target} onChange={(e) => setDraft({ ...draft, target: e.target.value })} placeholder="name, id or type, e.g. credit" />
        </label>
        <label className="field field-inline">
          <span>From</span>
          <input type="date" name="from" value={draft.from} onChange={(e) => setDraft({ ...draft, from: e.target.value })} />
        </label>
        <label className="field field-inline">
          <span>To</span>
          <input type="date" name="to" value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })} />
        </label>
        <div className="filters-buttons">
          <button type="submit" className="btn">
            Apply
          </button>
          {filtered && (
            <button
              type="button"
              className="btn btn-ghost"
              onClick={() => {
                setDraft(noFilters);
                setApplied(noFilters);
              }}
            >
              Clear
            </button>
          )}
        </div>
      </form>
      {events.isPending ? (
        <Loading />
      ) : events.isError ? (
        <ErrorMessage error={events.error} />
      ) : rows.length === 0 ? (
        <EmptyState title={filtered ? 'No events match these filters.' : 'No events yet.'}>
          {filtered ? 'Widen the date range or clear the filters.' : 'Changes made here (members, projects, API keys, runs) are recorded as they happen.'}
        </EmptyState>
      ) : (
        <>
          <div className="table-scroll">
            <table className="table audit-table">
              <thead>
                <tr>
                  <th>Time</th>
                  <th>Actor</th>
                  <th>Action</th>
                  {teamId && <th>Project</th>}
                  <th>Target</th>
                  <th>Details</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((e) => (
                  <AuditRow key={e.seq} event={e} project={teamId ? { names: projectNames } : undefined} />
                ))}
              </tbody>
            </table>
          </div>
          <div className="table-foot">
            <span className="muted">
              {rows.length} {rows.length === 1 ? 'event' : 'events'}
              {events.hasNextPage ? ' shown' : ''}
            </span>
            {events.hasNextPage && (
              <button type="button" className="btn" onClick={() => void events.fetchNextPage()} disabled={events.isFetchingNextPage}>
                {events.isFetchingNextPage ? 'Loading…' : 'Load more'}
              </button>
            )}
          </div>
        </>
      )}
    </Card>
  );
}

function AuditRow({ event: e, project }: { event: AuditEvent; project?: { names: Map<string, string> } }) {
  const details = summarizeDetails(e.details);
  return (
    <tr>
      <td className="nowrap muted">{formatDateTimeSeconds(e.at)}</td>
      <td>
        <span className="actor" title={e.actor.description ? e.actor.label : undefined}>
          {e.actor.description ?? e.actor.label}
        </span>
        <span className="actor-type">{e.actor.type}</span>
      </td>
      <td>
        <span className="action-label">{auditActionLabels[e.action as AuditAction] ?? e.action}</span>
        <code className="action">{e.action}</code>
      </td>
      {project && (
        <td className="nowrap">
          {e.projectId ? <Link href={`/projects/${e.projectId}/audit`}>{project.names.get(e.projectId) ?? shortId(e.projectId)}</Link> : <span className="muted">team</span>}
        </td>
      )}
      <td className="nowrap">
        <AuditTarget target={e.target} projectId={e.projectId} />
      </td>
      <td className="details">
        {details ? (
          // Expands in place (no hover tooltip): the whole summary, then the recorded JSON.
          <details className="audit-details">
            <summary>
              <span className="details-text">{details}</span>
            </summary>
            <pre className="audit-details-json">{JSON.stringify(e.details, null, 2)}</pre>
          </details>
        ) : (
          <span className="muted">—</span>
        )}
      </td>
    </tr>
  );
}

/** The target by name, linked to its page; a deleted one by its type and short id. */
function AuditTarget({ target, projectId }: { target: AuditEvent['target']; projectId: string | null }) {
  const href = auditTargetHref(target, projectId);
  const text = auditTargetText(target);
  return (
    <>
      <span className="muted">{target.type}</span>{' '}
      {href ? (
        <Link href={href} title={target.id}>
          {text}
        </Link>
      ) : (
        <span title={target.id}>{text}</span>
      )}
    </>
  );
}
