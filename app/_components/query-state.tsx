'use client';

import Link from 'next/link';
import { Card, EmptyState, ErrorMessage } from './ui';

/** A query's error as tRPC hands it over: a message written for people, and the server's data. */
export type QueryErrorLike = { message: string; data?: unknown } | null;

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

/*
 * Why pages spun on "Loading…" for an unknown id: React Query re-renders a component only for the
 * result fields it read (tracked props), and a page whose status was first read inside a frame's
 * render prop (after the frame finished its own loading) never heard of the error that came back in
 * the same batch as the frame's data. `notifyOnChangeProps: 'all'` in trpc.tsx closes that for every
 * query; the components below make every page say the same thing about it.
 */

/** A failed query: "not found" for an unknown id, else the server's message (written for people). */
export function QueryError({ error, what, back }: { error: QueryErrorLike; what: string; back?: { href: string; label: string } | undefined }) {
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
