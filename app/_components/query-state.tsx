'use client';

import Link from 'next/link';
import type { ReactNode } from 'react';
import { Card, EmptyState, ErrorMessage, Loading } from './ui';

/** What a page needs of a query: its state, read while the page renders (see `QueryState`). */
export type QueryLike<T> = {
  status: 'pending' | 'error' | 'success';
  data: T | undefined;
  error: { message: string; data?: unknown } | null;
};

/**
 * True for the server's NOT_FOUND answer (HTTP 404), whether it came alone or inside a batch (207),
 * and for an id in the address that cannot name anything (`/builds/nope`: the server refuses it as
 * "runId must be a UUID" before looking): to the person who followed the link, both are not found.
 */
export function isNotFound(error: unknown): boolean {
  const data = (error as { data?: { code?: unknown; httpStatus?: unknown; field?: unknown; fields?: unknown } } | null | undefined)?.data;
  if (data?.code === 'NOT_FOUND' || data?.httpStatus === 404) return true;
  const fields = Array.isArray(data?.fields) ? (data.fields as unknown[]) : typeof data?.field === 'string' ? [data.field] : [];
  return data?.code === 'BAD_REQUEST' && fields.length > 0 && fields.every((f) => typeof f === 'string' && /(Id|hash)$/.test(f));
}

/**
 * One place that turns a query into what a page shows: a spinner while it loads, "not found" for an
 * unknown id, the server's message for any other failure, else the content.
 *
 * The query's state is read here, in the caller's render, on purpose: React Query re-renders a
 * component only for the result fields it read (tracked props), and a page whose status was first
 * read inside a frame's render prop (after the frame finished its own loading) never heard of the
 * error that came back in the same batch as the frame's data; it spun on "Loading…" forever.
 * `notifyOnChangeProps: 'all'` in trpc.tsx closes that for every query; this keeps pages uniform.
 */
export function QueryState<T>({ query, what, back, children }: {
  query: QueryLike<T>;
  /** The thing the page is about, as a person names it: `Model "churn"`. */
  what: string;
  /** Where to go instead when it is not found. */
  back?: { href: string; label: string };
  children: (data: T) => ReactNode;
}) {
  if (query.status === 'pending') return <Loading />;
  if (query.status === 'error') return <QueryError error={query.error} what={what} back={back} />;
  return <>{children(query.data as T)}</>;
}

/** A failed query: "not found" for an unknown id, else the server's message (written for people). */
export function QueryError({ error, what, back }: { error: QueryLike<unknown>['error']; what: string; back?: { href: string; label: string } | undefined }) {
  if (isNotFound(error)) return <NotFound what={what} back={back} message={error?.message} />;
  return <ErrorMessage error={error} />;
}

export function NotFound({ what, back, message }: { what: string; back?: { href: string; label: string } | undefined; message?: string | undefined }) {
  return (
    <Card>
      <div className="not-found" data-testid="not-found">
        <EmptyState title={`${what} was not found`}>
          <p className="muted">{message && message.toLowerCase() !== `${what} was not found`.toLowerCase() ? message : 'It may have been renamed or deleted, or the link is mistyped.'}</p>
          {back && (
            <p>
              <Link href={back.href}>{back.label}</Link>
            </p>
          )}
        </EmptyState>
      </div>
    </Card>
  );
}
